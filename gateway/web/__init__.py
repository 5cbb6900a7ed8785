"""Pages of the customer portal: view models in views.py, templates in gateway/templates."""
