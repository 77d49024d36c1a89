"""Django: who may see what (the one permission policy), teams and allocations, the audit log."""
