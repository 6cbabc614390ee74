"""What-if simulation: arrivals, handling, patience and routing over a roster → event log → KPIs."""
