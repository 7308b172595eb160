"""The raw area: one daily-partitioned (or whole-object) asset per WHOOP endpoint, its checks and sensors."""
