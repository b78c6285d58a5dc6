module github.com/windsock/windsock-go

go 1.23
