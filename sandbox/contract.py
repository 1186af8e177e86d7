"""Names, enums and field sets from Cekura's published contract, shared by the sandbox's modules."""

from __future__ import annotations

ROUTE_NAMES: tuple[str, ...] = (
    "process_feedbacks",
    "process_feedbacks_progress",
    "process_feedbacks_answer",
    "process_feedbacks_cancel",
    "metrics_list",
    "metric_get",
    "metric_patch",
    "metric_history",
    "metric_history_edit",
    "metric_restore",
    "run_reviews",
    "run_reviews_progress",
    "apply_proposal",
    "dismiss_proposal",
    "cron_list",
    "cron_create",
    "cron_get",
    "cron_update",
    "cron_delete",
    "cron_fire",
    "call_logs_list",
    "call_log_get",
    "mark_metric_vote",
    "rerun_evaluation",
    "create_from_call_log",
    "review_patch",
    "metric_preview",
    "metric_preview_progress",
)

# Routes whose `{id}` path parameter is a metric id (or slug).
METRIC_PATH_ROUTES = frozenset(
    {
        "metric_get",
        "metric_patch",
        "metric_history",
        "metric_history_edit",
        "metric_restore",
        "run_reviews",
        "apply_proposal",
        "dismiss_proposal",
    }
)

PASS_VALUE = 5
FAIL_VALUE = 0

METRIC_TYPES = ("basic", "custom_prompt", "custom_code", "llm_judge")
DEPRECATED_METRIC_TYPES = ("basic", "custom_prompt")
EVAL_TYPES = ("binary", "continuous_qualitative", "numeric", "enum")
LEGACY_BINARY_EVAL_TYPES = ("binary_workflow_adherence", "binary_qualitative")
EVALUATION_TRIGGERS = ("always", "automatic", "custom")
TRIGGER_TYPES = ("llm_judge", "custom_code")
LLM_PROVIDERS = ("openai", "gemini", "dspy-gepa-gemini-flash", "deepseek-v4-flash")
ALERT_TYPES = ("disabled", "normal", "significant_change")
SIGNIFICANT_CHANGE_STATUSES = ("enabled", "disabled")
SIGNIFICANT_CHANGE_DIRECTIONS = ("", "increase", "decrease")
NOTIFY_ON = ("never", "success", "failure", "both")

# Fields of MetricDetailSerializerV2 as returned by GET (write-only `scenarios` left out).
DETAIL_FIELDS: tuple[str, ...] = (
    "id",
    "slug",
    "project",
    "agents",
    "name",
    "description",
    "type",
    "eval_type",
    "enum_values",
    "audio_enabled",
    "prompt",
    "evaluation_trigger",
    "trigger_type",
    "evaluation_trigger_prompt",
    "evaluation_trigger_custom_code",
    "priority_assignment_prompt",
    "configuration",
    "overall_score",
    "total_score",
    "knowledge_base_files",
    "observability_enabled",
    "simulation_enabled",
    "sampling_enabled",
    "alert_enabled",
    "alert_type",
    "alert_filters",
    "slack_workspace",
    "slack_channel_id",
    "significant_change_alert_status",
    "significant_change_alert_direction",
    "function_name",
    "custom_code",
    "vocera_defined_metric_code",
    "reviews",
    "window_size",
    "std_multiplier",
    "ewma_alpha",
    "add_to_new_agents",
    "pending_optimisation_proposal",
)

# Fields of MetricListSerializerV2 (no reviews, no proposal, no write-only custom_code).
LIST_FIELDS: tuple[str, ...] = (
    "id",
    "slug",
    "project",
    "agents",
    "agent_names",
    "name",
    "description",
    "function_name",
    "type",
    "eval_type",
    "enum_values",
    "audio_enabled",
    "observability_enabled",
    "simulation_enabled",
    "sampling_enabled",
    "prompt",
    "display_order",
    "evaluation_trigger",
    "trigger_type",
    "evaluation_trigger_prompt",
    "evaluation_trigger_custom_code",
    "priority_assignment_prompt",
    "vocera_defined_metric_code",
    "configuration",
    "overall_score",
    "total_score",
    "kb_file_ids",
    "knowledge_base_files",
    "metric_cost",
    "alert_type",
    "significant_change_alert_status",
    "significant_change_alert_direction",
    "window_size",
    "std_multiplier",
    "ewma_alpha",
    "add_to_new_agents",
    "alert_filters",
    "slack_workspace",
    "slack_channel_id",
    "uses_llm_judge",
)

# The metric fields a MetricHistory row snapshots; the `*_program` fields are not among them.
HISTORY_SNAPSHOT_FIELDS: tuple[str, ...] = (
    "id",
    "slug",
    "project",
    "agent",
    "name",
    "description",
    "function_name",
    "type",
    "eval_type",
    "enum_values",
    "audio_enabled",
    "observability_enabled",
    "simulation_enabled",
    "sampling_enabled",
    "alert_enabled",
    "prompt",
    "display_order",
    "evaluation_trigger",
    "trigger_type",
    "evaluation_trigger_prompt",
    "evaluation_trigger_custom_code",
    "priority_assignment_prompt",
    "configuration",
    "alert_type",
    "significant_change_alert_status",
    "significant_change_alert_direction",
    "window_size",
    "std_multiplier",
    "ewma_alpha",
    "add_to_new_agents",
    "alert_filters",
    "slack_workspace",
    "slack_channel_id",
    "custom_code",
    "vocera_defined_metric_code",
    "llm_provider",
    "relevance_llm_provider",
    "metric_description_variables",
    "evaluation_trigger_variables",
)

# Snapshot fields a restore must not copy back: identity, and fields read-only on the metric.
RESTORE_SKIP_FIELDS = frozenset({"id", "agent", "function_name", "vocera_defined_metric_code"})

# The configuration the judge reads; run_reviews may override these without saving them.
JUDGE_FIELDS: tuple[str, ...] = (
    "type",
    "description",
    "prompt",
    "custom_code",
    "evaluation_trigger",
    "trigger_type",
    "evaluation_trigger_prompt",
    "evaluation_trigger_custom_code",
)

CRON_FIELDS: tuple[str, ...] = (
    "id",
    "project",
    "name",
    "metrics",
    "crontab_expression",
    "timezone",
    "auto_apply",
    "skip_evaluation",
    "is_active",
    "notify_on",
    "created_by",
    "created_via",
    "created_at",
    "updated_at",
)
