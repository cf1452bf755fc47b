"""Leave per the national procedure: supporting documents, BKN's consideration for a CLTN, the year's export."""
