"""Prediction of a fitted :class:`~fmnist.ConvNetClassifier`: test-time
averaging, the calibrated probabilities, labels and penultimate features."""

import numpy as np
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._augment import tta_views
from ._calibration import apply_temperature
from ._input import validate_images
from ._training import torch_threads

__all__ = ["PredictionMixin"]


class PredictionMixin:
    """``predict``, ``predict_proba`` and ``transform`` of the ConvNet
    estimator (which holds ``net_``, ``classes_``, ``mean_``, ``std_``,
    ``temperature_``, ``tta`` and ``n_threads``)."""

    def predict_proba(self, X):
        """Class probabilities of the images ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_) or image-shaped
            Images, as in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), dtype float64
            Probabilities in the order of ``classes_``, averaged over the
            views of ``tta`` and scaled by ``temperature_`` (see Notes);
            rows sum to one.
        """
        proba = self._averaged_proba(self._validated_tensor(X))
        return apply_temperature(proba, self.temperature_)

    def _averaged_proba(self, X_tensor):
        """The network's probabilities of the normalised images ``X_tensor``,
        averaged over the views of ``tta``, before the temperature."""
        proba = self._test_time_averaged(
            X_tensor, lambda view: self.net_.predict_proba(view).astype(np.float64)
        )
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def _validated_tensor(self, X):
        check_is_fitted(self)
        images, _ = validate_images(self, X)
        return self._to_tensor(images)

    def _test_time_averaged(self, X_tensor, run):
        """``run`` on the normalised images ``X_tensor``, averaged over the
        views of ``tta`` (:func:`~fmnist.convnet._augment.tta_views`)."""
        fill = -self.mean_ / self.std_
        with torch_threads(self.n_threads):
            views = tta_views(X_tensor, self.tta, fill)
            return sum(run(view) * weight for weight, view in views)

    def predict(self, X):
        """Predicted class labels of the images ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_) or image-shaped
            Images, as in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``: the largest of the averaged
            probabilities, which the temperature does not change.
        """
        proba = self._averaged_proba(self._validated_tensor(X))
        return self.classes_[np.argmax(proba, axis=1)]

    def _module_embeds(self):
        # transform needs a network with an ``embed`` method (ResidualCNN has).
        module = getattr(self, "net_", None)
        module = module.module_ if module is not None else self.module
        return module is None or callable(getattr(module, "embed", None))

    @available_if(_module_embeds)
    def transform(self, X):
        """Features of the images ``X`` from the network's penultimate layer.

        The globally pooled features that the final linear layer reads, so a
        fitted network serves as a feature extractor (for example as the
        index of :class:`~fmnist.BlockKNNClassifier`, see
        :ref:`convnet-embeddings`). With ``tta=True`` they are the mean of the
        features of each image and of its mirror image, as the probabilities
        of :meth:`predict_proba` are. Available when the network has an
        ``embed`` method, as the default :class:`~fmnist.convnet.ResidualCNN`
        has.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_) or image-shaped
            Images, as in :meth:`fit`.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features), dtype float32
            ``n_features`` is ``8 * width`` for the default network (128 for
            the default width, 256 for the pretrained model).
        """
        return self._test_time_averaged(self._validated_tensor(X), self.net_.embed)
