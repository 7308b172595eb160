"""The ML area: next-day recovery forecast, recovery anomaly flags and tonight's sleep forecast (schema ``ml``)."""
