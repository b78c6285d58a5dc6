module github.com/windsock/windsock/tests/e2e/airflow_client_go

go 1.22

require github.com/apache/airflow-client-go/airflow v0.0.0-20230210234754-8ce0b39cfbb2

require (
	github.com/golang/protobuf v1.4.2 // indirect
	golang.org/x/net v0.0.0-20200822124328-c89045814202 // indirect
	golang.org/x/oauth2 v0.0.0-20210218202405-ba52d332ba99 // indirect
	google.golang.org/appengine v1.6.6 // indirect
	google.golang.org/protobuf v1.25.0 // indirect
)
