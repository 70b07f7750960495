# Ported from HIPS/autograd, examples/gplvm.py (MIT License,
# Copyright (c) 2014 by the Harvard Intelligent Probabilistic Systems Group).
# Changes: imports (autograd.numpy -> numpy, autograd.value_and_grad ->
# sourcediff.value_and_grad, autograd.scipy.stats.norm -> SciPy's; gaussian_process is the
# ported gaussian_process_regression.py, data.make_pinwheel the copy in the ported gmm.py);
# the figures are left out (the callback prints the likelihood), fewer points and CG
# stopped after 15 iterations so it runs in a few seconds.


from scipy.optimize import minimize
from scipy.stats import norm

import numpy as np
import numpy.random as npr

try:
    from gaussian_process_regression import make_gp_funs, rbf_covariance
    from gmm import make_pinwheel
except ImportError:  # imported as examples.ported.gplvm
    from .gaussian_process_regression import make_gp_funs, rbf_covariance
    from .gmm import make_pinwheel

from sourcediff import value_and_grad

if __name__ == "__main__":
    data_dimension = 2  # Normally the data dimension would be much higher.
    latent_dimension = 2

    # Build model and objective function.
    params_per_gp, predict, log_marginal_likelihood = make_gp_funs(
        rbf_covariance, num_cov_params=latent_dimension + 1
    )
    total_gp_params = data_dimension * params_per_gp

    data = make_pinwheel(radial_std=0.3, tangential_std=0.05, num_classes=3, num_per_class=8, rate=0.4)
    datalen = data.shape[0]

    num_latent_params = datalen * latent_dimension

    def unpack_params(params):
        gp_params = np.reshape(params[:total_gp_params], (data_dimension, params_per_gp))
        latents = np.reshape(params[total_gp_params:], (datalen, latent_dimension))
        return gp_params, latents

    def objective(params):
        gp_params, latents = unpack_params(params)
        gp_likelihood = sum(
            [log_marginal_likelihood(gp_params[i], latents, data[:, i]) for i in range(data_dimension)]
        )
        latent_prior_likelihood = np.sum(norm.logpdf(latents))
        return -gp_likelihood - latent_prior_likelihood

    def callback(params):
        print(f"Log likelihood {-objective(params)}")

    # Initialize covariance parameters
    rs = npr.RandomState(1)
    init_params = rs.randn(total_gp_params + num_latent_params) * 0.1

    print("Optimizing covariance parameters and latent variable locations...")
    minimize(value_and_grad(objective), init_params, jac=True, method="CG", callback=callback,
             options={"maxiter": 15})
