# flake8: noqa

# import apis into api package
from windsock_client.api.config_api import ConfigApi
from windsock_client.api.connection_api import ConnectionApi
from windsock_client.api.monitoring_api import MonitoringApi
from windsock_client.api.pool_api import PoolApi
from windsock_client.api.variable_api import VariableApi

