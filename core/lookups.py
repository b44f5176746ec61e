"""`field__any=[…]`: one array parameter instead of one placeholder per value.

Django writes `field__in=[1, 2, …]` as `IN (%s, %s, …)`: a thousand placeholders that the
driver splits out of the statement text, which cost more than the query on bulk paths.
`field = ANY(%s)` sends the list as one array; PostgreSQL plans it the same (an index scan
for a few values, a hash for many).
"""

from django.db.models import Field, ForeignObject, Lookup


@Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False  # the value is a collection; each item is prepared below

    def get_db_prep_lookup(self, value, connection):
        field = self.lhs.output_field
        values = [
            field.get_db_prep_value(field.get_prep_value(item), connection, prepared=True)
            for item in value
        ]
        return ("%s", [values])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        _, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, *rhs_params]


# Relations keep lookups of their own; a foreign key compares its column like any field.
ForeignObject.register_lookup(AnyOf)
