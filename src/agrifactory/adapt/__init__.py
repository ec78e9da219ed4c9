"""Domain adaptation of a crop-type time-series classifier to a region or year without
labels (GHCA and baselines): :mod:`.losses`, :mod:`.teacher`, :mod:`.net`, :mod:`.train`
and the comparison of methods in :mod:`.experiment`."""
