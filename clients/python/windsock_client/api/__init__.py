# flake8: noqa

# import apis into api package
from windsock_client.api.auth_api import AuthApi
from windsock_client.api.backfill_api import BackfillApi
from windsock_client.api.config_api import ConfigApi
from windsock_client.api.connection_api import ConnectionApi
from windsock_client.api.dag_api import DAGApi
from windsock_client.api.dag_run_api import DAGRunApi
from windsock_client.api.dag_stats_api import DagStatsApi
from windsock_client.api.dag_warning_api import DagWarningApi
from windsock_client.api.dataset_api import DatasetApi
from windsock_client.api.event_log_api import EventLogApi
from windsock_client.api.import_error_api import ImportErrorApi
from windsock_client.api.monitoring_api import MonitoringApi
from windsock_client.api.permission_api import PermissionApi
from windsock_client.api.plugin_api import PluginApi
from windsock_client.api.pool_api import PoolApi
from windsock_client.api.provider_api import ProviderApi
from windsock_client.api.role_api import RoleApi
from windsock_client.api.task_instance_api import TaskInstanceApi
from windsock_client.api.user_api import UserApi
from windsock_client.api.variable_api import VariableApi
from windsock_client.api.x_com_api import XComApi

