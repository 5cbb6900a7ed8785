"""The brand's unit price estimate per commodity, from which advance bounds and proposals are derived.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # commodity → price per kWh in the tenant's currency, as a decimal string; until billing owns the price lists
    op.add_column("tenants", sa.Column("unit_prices", JSONB, nullable=False, server_default="{}"))


def downgrade() -> None:
    op.drop_column("tenants", "unit_prices")
