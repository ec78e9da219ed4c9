"""Year-to-year change of the class maps between consecutive run years.

``transitions``
    Pair codes (previous year's class x 16 + this year's; nodata in either year kept
    apart) and their sums per province and county, counted by the aggregation
    stage's zonal sums; the transition tables and matrices of the fan-in.
``flags``
    Blocks of the integration stage's lattice where too large a share of the pixels
    changed class, or where a transition listed as implausible occurs.
``pages``
    The year's HTML page.
``rules``
    The stage's contract: settings (config section ``change``), output names and one
    function per rule (``change_tile``, ``change``).

See ``docs/change.md``.
"""
