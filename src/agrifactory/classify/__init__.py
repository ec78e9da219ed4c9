"""Classification: training sets, models, active learning, transfer, accuracy.

Modules: ``legend`` (uint8 legends), ``training`` (training sets with reported
exclusions), ``models`` and ``cnn`` (LightGBM, RBF SVM, 1-D CNN with one interface),
``separability`` (Jeffries-Matusita distance), ``augment`` (temporal augmentation),
``train`` (fit one product with a validation report), ``predict`` (tile rasters),
``active_learning``, ``transfer``, ``accuracy`` (incl. Olofsson et al. 2014) and
``evaluation`` (cross-validation). See docs/classification.md.
"""
