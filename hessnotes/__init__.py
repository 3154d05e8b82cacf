"""hessnotes: the library behind the book on matrix calculus and low-rank Hessians, checked.

Importing it has no side effects: no printing, no seeding, no change to matplotlib's settings.
Plotting lives in :mod:`hessnotes.figures` and sliders in :mod:`hessnotes.widgets`; import those
where needed (they bring in matplotlib and ipywidgets). The names below are grouped by topic in
``__all__``; each module's docstring names the chapters it serves.

Chapters: every chapter of the book.
"""

import sys as _sys

from hessnotes import costs as _costs
from hessnotes import nets as _nets
from hessnotes.adjoint import (
    AdjointHvp,
    AdjointResult,
    RodProblem,
    adjoint_hvp,
    implicit_adjoint_gradient,
    linear_adjoint_gradient,
    linear_forward_gradient,
    rod_problem,
    sensitivity_timings,
)
from hessnotes.admodes import (
    ModeTimes,
    chain_flops,
    crossover,
    jacobian_flops,
    jacobian_forward,
    jacobian_reverse,
    mode_sweep,
    tanh_layers,
    time_modes,
)
from hessnotes.checks import (
    CheckResult,
    Domain,
    Estimate,
    Raises,
    Verdict,
    attempt,
    check_close,
    check_error,
    check_gradient,
    check_hessian,
    check_jvp,
    check_mean,
    check_raises,
    check_variance,
    default_tolerances,
    distinct_singular_values,
    full_rank,
    general,
    invertible,
    orthogonal,
    positive,
    simple_spectrum,
    spd,
    sym,
    symmetric,
)
from hessnotes.checks.fd import central_difference, fd_error_curve, optimal_step
from hessnotes.checks.formula import check_formula
from hessnotes.costs import flops_vs_dimension, kron_matvec_timings, time_vs_dimension
from hessnotes.critical import (
    CriticalPoint,
    bordered_hessian,
    changes_along,
    classify,
    classify_constrained,
    reduced_hessian,
    sample_neighbourhood,
    skew_coordinates,
    tangent_basis,
)
from hessnotes.curvature import (
    CurvatureOperator,
    CurvatureSplit,
    HvpCost,
    LanczosResult,
    SpectralDensity,
    eigenvalue_density,
    gauss_newton,
    gauss_newton_split,
    hvp,
    hvp_cost,
    lanczos,
    spectral_density,
)

# finite differences: stencils, Richardson, the complex step (hessnotes.differences)
from hessnotes.differences import (
    balanced_step,
    complex_step,
    difference,
    difference_errors,
    richardson,
    stencil_difference,
    stencil_weights,
    truncation_term,
)
from hessnotes.distributed import (
    gloo_all_reduce_demo,
    least_norm_distributed,
    least_norm_from_gram,
    least_norm_sharded,
    sharded_gram,
)
from hessnotes.estimators import (
    bfgs_skipping,
    estimator_errors,
    fit_estimators,
    full_spectrum,
    standard_estimators,
)
from hessnotes.flops import count_flops
from hessnotes.identities import CATALOGUE, Identity, verify, verify_all
from hessnotes.kron import (
    KroneckerApprox,
    commutation_matrix,
    kron_matvec,
    kron_sum_eigvals,
    kron_sum_matvec,
    kron_sum_solve,
    nearest_kronecker,
    perfect_shuffle,
    rearrange,
    second_difference,
    solve_sylvester_sym,
    unvec,
    vec,
)
from hessnotes.limited import LimitedMemoryHessian, QuasiNewtonRun, quasi_newton
from hessnotes.linmaps import adjoint_mismatch, jacobian_matrix, operator_matrix
from hessnotes.lowrank import LowRankSymmetric
from hessnotes.matfun import (
    daleckii_krein,
    divided_differences,
    expm_condition,
    expm_frechet_block,
    expm_frechet_jacobian,
    funm_sym,
    logm_frechet,
    sqrtm_frechet,
)
from hessnotes.nets import DigitsMLP, digits_mlp, random_mlp, sample_cloud
from hessnotes.newton import NewtonRecord, convergence_order, newton_minimize, newton_root
from hessnotes.odes import (
    HeatProblem,
    OdeGradient,
    adjoint_gradient,
    continuous_adjoint_gradient,
    forward_sensitivities,
    heat_problem,
    rk4,
    rk4_amplification,
    rk4_stable_step,
)
from hessnotes.orthogonal_group import polar, polar_jvp, skew, tangent_project
from hessnotes.provenance import provenance
from hessnotes.references import (
    brute_force_symmetric_lstsq,
    dense_least_norm,
    procrustes_residual,
    spd_with_spectrum,
)
from hessnotes.regularise import discrepancy_damping, noise_amplification, tikhonov_hessian
from hessnotes.secant import (
    EigenDerivation,
    MinRankInfo,
    bfgs_hessian,
    eigen_derivation_hessian,
    least_change_hessian,
    least_norm_hessian,
    min_rank_hessian,
    scaling_gamma,
    secant_pairs,
    symmetric_residual,
)
from hessnotes.spectral import eigh_jvp, eigh_signed, eigh_vjp, svd_jvp, svd_signed
from hessnotes.stochastic import (
    gaussian_log_density,
    gaussian_score,
    optimal_baseline,
    pathwise_gradient,
    score_function_gradient,
)
from hessnotes.timing import best_of, best_time, loglog_slope, torch_threads

__version__ = "0.1.0"

# Names that moved keep their old address (QuantEcon's pattern of re-export shims). Their new
# homes import the old modules (costs imports kron, timing and flops), so the old modules cannot
# import them back without an import cycle: the package puts them there, here, once.
_MOVED = {
    "hessnotes.flops": {"flops_vs_dimension": flops_vs_dimension},
    "hessnotes.kron": {
        "SoftmaxLayerSamples": _nets.SoftmaxLayerSamples,
        "kron_matvec_timings": kron_matvec_timings,
        "loglog_slope": _costs._kron_loglog_slope,  # the kron rule: window="upper half"
        "softmax_layer_samples": _nets.softmax_layer_samples,
    },
    "hessnotes.timing": {"time_vs_dimension": time_vs_dimension},
}
for _module, _names in _MOVED.items():
    for _name, _value in _names.items():
        setattr(_sys.modules[_module], _name, _value)

__all__ = [  # noqa: RUF022 -- grouped by topic, as the book is
    # verifying derivatives and formulas (hessnotes.checks: its fd, formula and statistical checks)
    "CheckResult",
    "Domain",
    "Raises",
    "Verdict",
    "attempt",
    "central_difference",
    "check_close",
    "check_error",
    "check_formula",
    "check_gradient",
    "check_hessian",
    "check_jvp",
    "check_raises",
    "default_tolerances",
    "distinct_singular_values",
    "fd_error_curve",
    "full_rank",
    "general",
    "invertible",
    "optimal_step",
    "orthogonal",
    "positive",
    "simple_spectrum",
    "spd",
    "sym",
    "symmetric",
    # the matrix-calculus course: linear maps, AD modes, factorizations, adjoints, Newton
    # (hessnotes.linmaps, admodes, spectral, orthogonal_group, adjoint, newton)
    "adjoint_mismatch",
    "jacobian_matrix",
    "operator_matrix",
    "ModeTimes",
    "chain_flops",
    "crossover",
    "jacobian_flops",
    "jacobian_forward",
    "jacobian_reverse",
    "mode_sweep",
    "tanh_layers",
    "time_modes",
    "eigh_jvp",
    "eigh_signed",
    "eigh_vjp",
    "svd_jvp",
    "svd_signed",
    "polar",
    "polar_jvp",
    "skew",
    "tangent_project",
    "AdjointHvp",
    "AdjointResult",
    "RodProblem",
    "adjoint_hvp",
    "implicit_adjoint_gradient",
    "linear_adjoint_gradient",
    "linear_forward_gradient",
    "rod_problem",
    "sensitivity_timings",
    "NewtonRecord",
    "convergence_order",
    "newton_minimize",
    "newton_root",
    # the identity catalogue (hessnotes.identities)
    "CATALOGUE",
    "Identity",
    "verify",
    "verify_all",
    # Kronecker products (hessnotes.kron)
    "KroneckerApprox",
    "commutation_matrix",
    "kron_matvec",
    "kron_sum_eigvals",
    "kron_sum_matvec",
    "kron_sum_solve",
    "nearest_kronecker",
    "perfect_shuffle",
    "rearrange",
    "second_difference",
    "solve_sylvester_sym",
    "unvec",
    "vec",
    # Hessians from gradient pairs (secant, lowrank, limited, nets)
    "EigenDerivation",
    "LimitedMemoryHessian",
    "LowRankSymmetric",
    "MinRankInfo",
    "QuasiNewtonRun",
    "bfgs_hessian",
    "eigen_derivation_hessian",
    "least_change_hessian",
    "least_norm_hessian",
    "min_rank_hessian",
    "quasi_newton",
    "random_mlp",
    "sample_cloud",
    "scaling_gamma",
    "secant_pairs",
    "symmetric_residual",
    # dense and brute-force references (hessnotes.references)
    "brute_force_symmetric_lstsq",
    "dense_least_norm",
    "procrustes_residual",
    "spd_with_spectrum",
    # comparing estimators (hessnotes.estimators)
    "bfgs_skipping",
    "estimator_errors",
    "fit_estimators",
    "full_spectrum",
    "standard_estimators",
    # past one machine (hessnotes.distributed)
    "gloo_all_reduce_demo",
    "least_norm_distributed",
    "least_norm_from_gram",
    "least_norm_sharded",
    "sharded_gram",
    # measuring: counted flops and timings (hessnotes.flops, hessnotes.timing), and what the
    # book's algorithms cost (hessnotes.costs)
    "best_of",
    "best_time",
    "count_flops",
    "flops_vs_dimension",
    "kron_matvec_timings",
    "loglog_slope",
    "time_vs_dimension",
    "torch_threads",
    # noisy pairs: noise amplification and Tikhonov regularisation (hessnotes.regularise)
    "discrepancy_damping",
    "noise_amplification",
    "tikhonov_hessian",
    # where a chapter's numbers came from (hessnotes.provenance)
    "provenance",
    # exact curvature: Hessian-vector products, Gauss–Newton, Lanczos (hessnotes.curvature)
    "CurvatureOperator",
    "CurvatureSplit",
    "HvpCost",
    "LanczosResult",
    "SpectralDensity",
    "eigenvalue_density",
    "gauss_newton",
    "gauss_newton_split",
    "hvp",
    "hvp_cost",
    "lanczos",
    "spectral_density",
    # networks on real data (hessnotes.nets)
    "DigitsMLP",
    "digits_mlp",
    # critical points and second-order conditions (hessnotes.critical)
    "CriticalPoint",
    "bordered_hessian",
    "changes_along",
    "classify",
    "classify_constrained",
    "reduced_hessian",
    "sample_neighbourhood",
    "skew_coordinates",
    "tangent_basis",
    # differentiating through an ODE: RK4, forward sensitivities, adjoints (hessnotes.odes)
    "HeatProblem",
    "OdeGradient",
    "adjoint_gradient",
    "continuous_adjoint_gradient",
    "forward_sensitivities",
    "heat_problem",
    "rk4",
    "rk4_amplification",
    "rk4_stable_step",
    # derivatives of matrix functions (hessnotes.matfun)
    "daleckii_krein",
    "divided_differences",
    "expm_condition",
    "expm_frechet_block",
    "expm_frechet_jacobian",
    "funm_sym",
    "logm_frechet",
    "sqrtm_frechet",
    # gradients of expectations: pathwise and score-function estimators (hessnotes.stochastic)
    "Estimate",
    "check_mean",
    "check_variance",
    "gaussian_log_density",
    "gaussian_score",
    "optimal_baseline",
    "pathwise_gradient",
    "score_function_gradient",
    # finite differences: stencils, Richardson, the complex step (hessnotes.differences)
    "balanced_step",
    "complex_step",
    "difference",
    "difference_errors",
    "richardson",
    "stencil_difference",
    "stencil_weights",
    "truncation_term",
]
