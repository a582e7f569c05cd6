"""Resolve scikit-learn's glossary terms and labels without intersphinx.

Docstrings written in scikit-learn's style, and the methods that scikit-learn
adds to every estimator, use ``:term:`fit``` and ``:ref:`metadata_routing```,
which point into scikit-learn's own documentation. Intersphinx needs the
network to download scikit-learn's inventory, so this extension links such
references to scikit-learn's online pages directly; anything it does not know
is left to Sphinx (and its warning).

It also quotes fitted-attribute names in array shapes, as scikit-learn writes
them: in ``ndarray of shape (n_features_in_,)`` reStructuredText would read
``n_features_in_`` as a link to a target named ``n_features_in``.
"""

import re

from docutils import nodes

SKLEARN = "https://scikit-learn.org/stable/"
LABELS = {
    "metadata_routing": "metadata_routing.html",
    "glossary": "glossary.html",
}


def _slug(term):
    return re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


def _resolve(app, env, node, contnode):
    if node.get("refdomain") != "std":
        return None
    target = node.get("reftarget", "")
    if node.get("reftype") == "term":
        url = f"{SKLEARN}glossary.html#term-{_slug(target)}"
    elif node.get("reftype") == "ref" and target in LABELS:
        url = SKLEARN + LABELS[target]
    else:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url)
    reference += contnode
    return reference


_SHAPE = re.compile(r"of shape \(([^)]*)\)")
_ATTRIBUTE = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?![`\w])")


def _quote_shape_attributes(app, what, name, obj, options, lines):
    def quote(match):
        return "of shape (" + _ATTRIBUTE.sub(r"`\1`", match.group(1)) + ")"

    lines[:] = [_SHAPE.sub(quote, line) for line in lines]


def setup(app):
    app.connect("missing-reference", _resolve, priority=900)
    app.connect("autodoc-process-docstring", _quote_shape_attributes)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
