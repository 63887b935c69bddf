"""The rules: one module per rule, each registering itself with `@rule`.

Every module in this package is imported by `cryptorails.audit._registry.all_rules`;
adding a rule means adding a file (plus its fixture and snapshot under
``tests/audit/fixtures/``).
"""
