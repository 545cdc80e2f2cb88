package main

import (
	_ "github.com/gofiber/fiber/v2"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/alertmanager/template"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/common/model"
	_ "github.com/robfig/cron/v3"
	_ "github.com/slack-go/slack"
	_ "go.yaml.in/yaml/v3"
)

func main() {}
