"""For the Safeguarding Children Partnership (issue 8): the multi-agency chronology and its
exports, rapid reviews with their action plans, audit dashboards, and versioned settings."""
