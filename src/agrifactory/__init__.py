"""agrifactory: an agricultural data-product factory for China.

Importing the package needs neither CuPy nor a GPU.
"""

__version__ = "0.1.0"
