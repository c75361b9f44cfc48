"""The URL map of the publisher's dashboard, under ``/admin``."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from meterwall.admin import (
    experiment_pages,
    grant_pages,
    login_pages,
    policy_pages,
    report_pages,
    second_factor_pages,
    simulator_pages,
)


def admin_routes() -> list[BaseRoute]:
    """Every route of the dashboard."""
    return [
        Mount(
            "/admin",
            routes=[
                Route("/", report_pages.home, name="admin_home"),
                Route("/login", login_pages.login_form, name="admin_login_form"),
                Route("/login", login_pages.login, methods=["POST"], name="admin_login"),
                Route("/logout", login_pages.logout, methods=["POST"], name="admin_logout"),
                Route(
                    "/second-factor",
                    second_factor_pages.second_factor,
                    name="admin_second_factor",
                ),
                Route(
                    "/second-factor",
                    second_factor_pages.enrol,
                    methods=["POST"],
                    name="admin_second_factor_enrol",
                ),
                Route("/funnel", report_pages.funnel, name="admin_funnel"),
                Route("/funnel.csv", report_pages.funnel_csv, name="admin_funnel_csv"),
                Route("/articles", report_pages.articles, name="admin_articles"),
                Route("/articles.csv", report_pages.articles_csv, name="admin_articles_csv"),
                Route("/revenue", report_pages.revenue, name="admin_revenue"),
                Route("/revenue.csv", report_pages.revenue_csv, name="admin_revenue_csv"),
                Route("/policy", policy_pages.policy, name="admin_policy"),
                Route(
                    "/policy", policy_pages.save_policy, methods=["POST"], name="admin_policy_save"
                ),
                Route(
                    "/policy/restore",
                    policy_pages.restore_policy,
                    methods=["POST"],
                    name="admin_policy_restore",
                ),
                Route("/experiments", experiment_pages.experiments, name="admin_experiments"),
                Route(
                    "/experiments",
                    experiment_pages.start_experiment,
                    methods=["POST"],
                    name="admin_experiment_start",
                ),
                Route(
                    "/experiments/{id}.csv",
                    experiment_pages.experiment_csv,
                    name="admin_experiment_csv",
                ),
                Route("/experiments/{id}", experiment_pages.experiment, name="admin_experiment"),
                Route(
                    "/experiments/{id}/stop",
                    experiment_pages.stop_experiment,
                    methods=["POST"],
                    name="admin_experiment_stop",
                ),
                Route("/grants", grant_pages.grants, name="admin_grants"),
                Route("/grants", grant_pages.give, methods=["POST"], name="admin_grant_give"),
                Route(
                    "/grants/revoke",
                    grant_pages.revoke,
                    methods=["POST"],
                    name="admin_grant_revoke",
                ),
                Route("/simulator", simulator_pages.simulator, name="admin_simulator"),
                Route(
                    "/simulator",
                    simulator_pages.run_simulation,
                    methods=["POST"],
                    name="admin_simulator_run",
                ),
            ],
        )
    ]
