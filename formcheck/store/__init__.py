"""Results database of a squad: models, migrations, access and history queries."""
