"""Classification: training sets, models, active learning, transfer, accuracy."""
