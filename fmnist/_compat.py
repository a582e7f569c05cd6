"""The one place where private scikit-learn symbols are imported.

scikit-learn moves or renames its private helpers between releases. Importing
them here, and only here, keeps that churn in a single module: the estimators
import from ``fmnist._compat`` and never from a private sklearn module.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, Options, StrOptions

__all__ = ["Interval", "Options", "StrOptions", "_fit_context"]
