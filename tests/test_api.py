"""The public API of main before the refactor (issue 21), frozen: every name still imports.

Each public module's names at commit d8a0a965 (its ``__all__`` and the names defined in it, e.g.
``hessnotes.curvature.DENSE_LIMIT``). Modules that moved keep their old path through re-export
shims (QuantEcon's pattern), so a reader's ``from hessnotes.fd import central_difference`` or
``from hessnotes.kron import kron_matvec_timings`` keeps working. New names may be added; none of
these may disappear.
"""

import importlib

import pytest

PUBLIC = {
    "hessnotes": """
        AdjointHvp AdjointResult CATALOGUE CheckResult CriticalPoint CurvatureOperator
        CurvatureSplit DigitsMLP Domain EigenDerivation Estimate HeatProblem HvpCost
        Identity KroneckerApprox LanczosResult LimitedMemoryHessian LowRankSymmetric
        MinRankInfo ModeTimes NewtonRecord OdeGradient QuasiNewtonRun RodProblem
        SpectralDensity Verdict adjoint_gradient adjoint_hvp adjoint_mismatch attempt
        best_of best_time bfgs_hessian bfgs_skipping bordered_hessian
        brute_force_symmetric_lstsq central_difference chain_flops changes_along
        check_close check_error check_formula check_gradient check_hessian check_jvp
        check_mean check_variance classify classify_constrained commutation_matrix
        continuous_adjoint_gradient convergence_order count_flops crossover
        daleckii_krein default_tolerances dense_least_norm digits_mlp
        discrepancy_damping distinct_singular_values divided_differences
        eigen_derivation_hessian eigenvalue_density eigh_jvp eigh_signed eigh_vjp
        estimator_errors expm_condition expm_frechet_block expm_frechet_jacobian
        fd_error_curve fit_estimators flops_vs_dimension forward_sensitivities full_rank
        full_spectrum funm_sym gauss_newton gauss_newton_split gaussian_log_density
        gaussian_score general gloo_all_reduce_demo heat_problem hvp hvp_cost
        implicit_adjoint_gradient invertible jacobian_flops jacobian_forward
        jacobian_matrix jacobian_reverse kron_matvec kron_sum_eigvals kron_sum_matvec
        kron_sum_solve lanczos least_change_hessian least_norm_distributed
        least_norm_from_gram least_norm_hessian least_norm_sharded
        linear_adjoint_gradient linear_forward_gradient loglog_slope logm_frechet
        min_rank_hessian mode_sweep nearest_kronecker newton_minimize newton_root
        noise_amplification operator_matrix optimal_baseline optimal_step orthogonal
        pathwise_gradient perfect_shuffle polar polar_jvp positive procrustes_residual
        provenance quasi_newton random_mlp rearrange reduced_hessian rk4
        rk4_amplification rk4_stable_step rod_problem sample_cloud sample_neighbourhood
        scaling_gamma score_function_gradient secant_pairs second_difference
        sensitivity_timings sharded_gram simple_spectrum skew skew_coordinates
        solve_sylvester_sym spd spd_with_spectrum spectral_density sqrtm_frechet
        standard_estimators svd_jvp svd_signed sym symmetric symmetric_residual
        tangent_basis tangent_project tanh_layers tikhonov_hessian time_modes
        time_vs_dimension torch_threads unvec vec verify verify_all
    """,
    "hessnotes.adjoint": """
        AdjointHvp AdjointResult RodProblem adjoint_hvp implicit_adjoint_gradient
        linear_adjoint_gradient linear_forward_gradient rod_problem sensitivity_timings
    """,
    "hessnotes.admodes": """
        ModeTimes chain_flops crossover jacobian_flops jacobian_forward jacobian_reverse
        mode_sweep tanh_layers time_modes
    """,
    "hessnotes.budget": """
        BudgetComparison budget_estimators equal_budget format_error
        top_eigenvalue_error
    """,
    "hessnotes.checks": """
        CheckResult Comparison Domain Finding Verdict attempt check_close check_error
        check_gradient check_hessian check_jvp default_tolerances
        distinct_singular_values full_rank general invertible orthogonal positive
        simple_spectrum spd sym symmetric
    """,
    "hessnotes.critical": """
        CriticalPoint Neighbourhood bordered_hessian changes_along classify
        classify_constrained kind_of reduced_hessian sample_neighbourhood
        skew_coordinates tangent_basis
    """,
    "hessnotes.curvature": """
        CurvatureOperator CurvatureSplit DEFAULT_MODE DENSE_LIMIT HvpCost LanczosResult
        MAX_DENSE_BYTES SpectralDensity eigenvalue_density gauss_newton
        gauss_newton_split hvp hvp_cost lanczos spectral_density
    """,
    "hessnotes.distributed": """
        gloo_all_reduce_demo least_norm_distributed least_norm_from_gram
        least_norm_sharded sharded_gram
    """,
    "hessnotes.estimators": """
        Estimator bfgs_skipping estimator_errors fit_estimators full_spectrum
        standard_estimators
    """,
    "hessnotes.fd": """
        central_difference fd_error_curve fit_slope one_sided_kink optimal_step
    """,
    "hessnotes.figures": """
        alt_text
    """,
    "hessnotes.figures.autodiff": """
        LINESTYLES MARKERS PALETTE graph_levels plot_graph plot_jacobian_counts
    """,
    "hessnotes.figures.calculus": """
        LINESTYLES MARKERS PALETTE plot_central_difference plot_fd_error
    """,
    "hessnotes.figures.course": """
        LINESTYLES MARKERS PALETTE plot_avoided_crossing plot_convergence
        plot_mode_costs plot_sensitivity_costs plot_taylor_remainders
    """,
    "hessnotes.figures.critical": """
        PALETTE plot_critical_points plot_curvature_counts
    """,
    "hessnotes.figures.curvature": """
        ESTIMATOR_STYLE LINESTYLES MARKERS METHOD_STYLE PALETTE plot_budget_errors
        plot_budget_frame plot_curvature_split plot_densities plot_secant_error
        plot_top_eigenvalues
    """,
    "hessnotes.figures.hessians": """
        MARKERS PALETTE plot_asymmetry_vs_spread plot_solution_comparison
    """,
    "hessnotes.figures.kron": """
        MARKERS PALETTE plot_kron_sum_spectrum plot_kron_timing
        plot_rearrangement_singular_values
    """,
    "hessnotes.figures.matfun": """
        MARKERS PALETTE plot_divided_differences plot_expm_conditioning
    """,
    "hessnotes.figures.odes": """
        LINESTYLES MARKERS PALETTE plot_ode_costs plot_trajectory_sensitivities
    """,
    "hessnotes.figures.regularise": """
        LINESTYLES MARKERS PALETTE plot_regularisation
    """,
    "hessnotes.figures.spectra": """
        ESTIMATOR_STYLE LINESTYLES MARKERS PALETTE plot_eigenvalue_tracks
        plot_estimator_errors plot_spectra plot_timings series_style
    """,
    "hessnotes.figures.stochastic": """
        LINESTYLES MARKERS PALETTE plot_estimator_variances
    """,
    "hessnotes.flops": """
        count_flops flops_vs_dimension
    """,
    "hessnotes.formulas": """
        check_formula
    """,
    "hessnotes.identities": """
        CATALOGUE Identity KINDS as_printed catalogue_table counts_by_kind
        entry_markdown errata errata_markdown get printed_error
        symmetric_entries_derivative unvech vech verify verify_all
    """,
    "hessnotes.kron": """
        KroneckerApprox SoftmaxLayerSamples commutation_matrix commutation_perm
        kron_matvec kron_matvec_timings kron_sum_eigvals kron_sum_matvec kron_sum_solve
        loglog_slope nearest_kronecker perfect_shuffle rearrange
        rearrange_via_column_major rearrange_via_row_major second_difference
        softmax_layer_samples solve_sylvester_sym unvec vec
    """,
    "hessnotes.limited": """
        LimitedMemoryHessian QuasiNewtonRun quasi_newton
    """,
    "hessnotes.linmaps": """
        adjoint_mismatch jacobian_matrix operator_matrix
    """,
    "hessnotes.lowrank": """
        DENSE_LIMIT LowRankSymmetric MAX_DENSE_BYTES
    """,
    "hessnotes.matfun": """
        daleckii_krein divided_differences expm_condition expm_frechet_block
        expm_frechet_jacobian funm_sym logm_frechet sqrtm_frechet
    """,
    "hessnotes.nets": """
        DigitsMLP digits_mlp random_mlp sample_cloud
    """,
    "hessnotes.newton": """
        NewtonRecord convergence_order inertia newton_minimize newton_root
    """,
    "hessnotes.odes": """
        HeatProblem OdeGradient adjoint_gradient continuous_adjoint_gradient
        forward_sensitivities heat_problem rk4 rk4_amplification rk4_stable_step
    """,
    "hessnotes.orthogonal_group": """
        polar polar_jvp skew tangent_project
    """,
    "hessnotes.provenance": """
        Provenance provenance
    """,
    "hessnotes.references": """
        brute_force_symmetric_lstsq dense_least_norm procrustes_residual
        spd_with_spectrum
    """,
    "hessnotes.regularise": """
        discrepancy_damping noise_amplification tikhonov_hessian
    """,
    "hessnotes.secant": """
        EigenDerivation MinRankInfo bfgs_hessian eigen_derivation_hessian
        least_change_hessian least_norm_hessian min_rank_hessian scaling_gamma
        secant_pairs symmetric_residual
    """,
    "hessnotes.spectral": """
        eigh_jvp eigh_signed eigh_vjp svd_jvp svd_signed
    """,
    "hessnotes.stochastic": """
        Baseline Estimate GaussianGradient StatCheck check_mean check_variance
        gaussian_log_density gaussian_score optimal_baseline pathwise_gradient
        score_function_gradient
    """,
    "hessnotes.timing": """
        best_of best_time loglog_slope time_vs_dimension torch_threads
    """,
    "hessnotes.widgets": """
        CSS_PX_PER_INCH MAX_FRAMES figure_png frame_slider frame_sliders
    """,
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_of_main_still_imports_from_where_it_did(module):
    mod = importlib.import_module(module)
    missing = [n for n in PUBLIC[module].split() if not hasattr(mod, n)]
    assert not missing, f"{module} lost {missing}"
    for name in PUBLIC[module].split():  # the statement a reader writes
        exec(f"from {module} import {name}", {})


def test_the_frozen_list_is_the_whole_public_surface_of_main():
    assert len(PUBLIC) == 43 and sum(len(v.split()) for v in PUBLIC.values()) == 443
