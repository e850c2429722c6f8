import Domain
import Foundation

/// The OpenAPI 3.1 document served at `/openapi.json`: the API's contract.
///
/// Kept by hand, beside the handlers it describes; schemathesis (run by `make test`) sends generated
/// requests to a live server and checks every response against it, so the two cannot drift apart silently.
enum OpenAPIDocument {
    static let data = Data(json.utf8)

    static let json = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "RepoWatch",
        "version": "0.1.0",
        "description": "Watch the health of source repositories. Add a repository URL to your watchlist; background workers process it while the entry moves through processing → ready or failed."
      },
      "servers": [{"url": "/"}],
      "security": [{"bearer": []}],
      "paths": {
        "/v1/watchlist": {
          "post": {
            "operationId": "addToWatchlist",
            "summary": "Add a repository to the caller's watchlist",
            "description": "202 with a new entry (processing starts in the background); 200 with the existing entry when the caller already watches the repository. URLs are canonicalised: the same repository under another spelling is the same entry.",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AddRequest"}}}},
            "responses": {
              "200": {"description": "Already on the watchlist", "headers": {"Location": {"$ref": "#/components/headers/Location"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Entry"}}}},
              "202": {"description": "Added; processing begins in the background", "headers": {"Location": {"$ref": "#/components/headers/Location"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Entry"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "413": {"$ref": "#/components/responses/TooLarge"},
              "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
              "422": {"$ref": "#/components/responses/Unprocessable"}
            }
          },
          "get": {
            "operationId": "listWatchlist",
            "summary": "List the caller's entries (an admin key lists everyone's), oldest first",
            "parameters": [
              {"name": "status", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/Status"}},
              {"name": "limit", "in": "query", "required": false, "description": "Page size (1 to api.page_size_max, default api.page_size_default)", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
              {"name": "cursor", "in": "query", "required": false, "description": "next_cursor of the previous page", "schema": {"type": "string", "format": "uuid"}}
            ],
            "responses": {
              "200": {"description": "One page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EntryList"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"}
            }
          }
        },
        "/v1/watchlist/{id}": {
          "parameters": [{"$ref": "#/components/parameters/EntryID"}],
          "get": {
            "operationId": "getEntry",
            "summary": "One entry",
            "responses": {
              "200": {"description": "The entry", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Entry"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          },
          "patch": {
            "operationId": "updateEntry",
            "summary": "Change an entry's alerts or notes",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateRequest"}}}},
            "responses": {
              "200": {"description": "The updated entry", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Entry"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "413": {"$ref": "#/components/responses/TooLarge"},
              "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
              "422": {"$ref": "#/components/responses/Unprocessable"}
            }
          },
          "delete": {
            "operationId": "deleteEntry",
            "summary": "Remove an entry from the watchlist",
            "responses": {
              "204": {"description": "Deleted"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/v1/watchlist/{id}/status": {
          "parameters": [{"$ref": "#/components/parameters/EntryID"}],
          "get": {
            "operationId": "getEntryStatus",
            "summary": "Processing status, cheap to poll",
            "description": "Carries a strong ETag; send it back in If-None-Match to get 304 while nothing changed.",
            "parameters": [{"name": "If-None-Match", "in": "header", "required": false, "schema": {"type": "string"}}],
            "responses": {
              "200": {"description": "The status", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EntryStatus"}}}},
              "304": {"description": "Unchanged since the ETag given", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/activity/user-watchlist-added": {
          "post": {
            "operationId": "seedAddToWatchlist",
            "summary": "Seed-compatible add (the service RepoWatch replaces)",
            "description": "added_by must be the caller's user name; an admin key may add for any user.",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SeedAddRequest"}}}},
            "responses": {
              "200": {"description": "Already on the watchlist", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SeedAddResponse"}}}, "links": {"SeedStatus": {"$ref": "#/components/links/SeedStatus"}}},
              "202": {"description": "Added", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SeedAddResponse"}}}, "links": {"SeedStatus": {"$ref": "#/components/links/SeedStatus"}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"},
              "413": {"$ref": "#/components/responses/TooLarge"},
              "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
              "422": {"$ref": "#/components/responses/Unprocessable"}
            }
          }
        },
        "/activity/watchlist/{id}/status": {
          "parameters": [{"$ref": "#/components/parameters/EntryID"}],
          "get": {
            "operationId": "seedEntryStatus",
            "summary": "Seed-compatible status",
            "responses": {
              "200": {"description": "The status in the seed's shape", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SeedStatus"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/v1/watchlist/{id}/events": {
          "parameters": [{"$ref": "#/components/parameters/EntryID"}],
          "get": {
            "operationId": "entryLiveStatus",
            "summary": "The entry's live status as Server-Sent Events (the same stream over WebSocket: GET /v1/watchlist/{id}/ws)",
            "description": "A stream that does not end: `retry: 2000`, then events `status` (the current status first, then every change of status, stage and progress), `alert` (an Event) and `deleted`, each with an `id:` to resume from with `Last-Event-ID` (nothing is sent twice; `0.0` replays the entry's history), and a comment line every live.heartbeat. Errors are answered before the stream starts. Over WebSocket each event is one text message `{\"id\", \"event\", \"data\"}`, and `?last_event_id=` resumes.",
            "parameters": [
              {"name": "Last-Event-ID", "in": "header", "required": false, "description": "The id of the last event received", "schema": {"type": "string", "pattern": "^[0-9]{1,18}\\.[0-9]{1,18}$"}}
            ],
            "responses": {
              "200": {"description": "The event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/v1/watchlist/{id}/retry": {
          "parameters": [{"$ref": "#/components/parameters/EntryID"}],
          "post": {
            "operationId": "retryEntry",
            "summary": "Process a failed repository again from the start (its setup job is enqueued once, however often this is asked)",
            "responses": {
              "202": {"description": "Processing again", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Entry"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"description": "The repository has not failed (not_failed)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
          }
        },
        "/v1/watchlist/{id}/recheck": {
          "parameters": [{"$ref": "#/components/parameters/EntryID"}],
          "post": {
            "operationId": "recheckEntry",
            "summary": "Re-check the repository now (deduplicated); a ready one stays ready while refreshing",
            "responses": {
              "202": {"description": "A re-check is queued or under way", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Entry"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"description": "The repository failed: retry it instead (failed)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
          }
        },
        "/v1/repositories/{id}/activity": {
          "parameters": [{"$ref": "#/components/parameters/RepositoryID"}],
          "get": {
            "operationId": "repositoryActivity",
            "summary": "Commit activity of a watched repository, from the stored commits of the history window",
            "responses": {
              "200": {"description": "The metrics", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Activity"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/v1/repositories/{id}/health": {
          "parameters": [{"$ref": "#/components/parameters/RepositoryID"}],
          "get": {
            "operationId": "repositoryHealth",
            "summary": "The latest health report: overall score with its components, activity, Scorecard result",
            "responses": {
              "200": {"description": "The report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HealthReport"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/v1/repositories/{id}/health/history": {
          "parameters": [{"$ref": "#/components/parameters/RepositoryID"}],
          "get": {
            "operationId": "repositoryHealthHistory",
            "summary": "Every health report of a watched repository, newest first",
            "parameters": [
              {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
              {"name": "cursor", "in": "query", "required": false, "description": "next_cursor of the previous page", "schema": {"type": "string", "format": "uuid"}}
            ],
            "responses": {
              "200": {"description": "One page", "content": {"application/json": {"schema": {"type": "object", "required": ["items", "next_cursor"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/HealthReport"}}, "next_cursor": {"type": ["string", "null"]}}}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/v1/repositories/{id}/commits": {
          "parameters": [{"$ref": "#/components/parameters/RepositoryID"}],
          "get": {
            "operationId": "repositoryCommits",
            "summary": "Stored commits of a watched repository, newest first",
            "parameters": [
              {"name": "limit", "in": "query", "required": false, "description": "Page size (1 to api.page_size_max, default api.page_size_default)", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
              {"name": "cursor", "in": "query", "required": false, "description": "next_cursor of the previous page", "schema": {"type": "string", "pattern": "^[0-9]+\\.[0-9a-f]{40}([0-9a-f]{24})?$"}}
            ],
            "responses": {
              "200": {"description": "One page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommitList"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/v1/queues": {
          "get": {
            "operationId": "listQueues",
            "summary": "Jobs per queue and state, and how long the oldest due job has waited (admin)",
            "responses": {
              "200": {"description": "One row per queue, the re-check scheduler's health, and the pipeline's stall gauge", "content": {"application/json": {"schema": {"type": "object", "required": ["queues", "scheduler", "pipeline"], "properties": {"queues": {"type": "array", "items": {"$ref": "#/components/schemas/QueueStats"}}, "scheduler": {"$ref": "#/components/schemas/SchedulerHealth"}, "pipeline": {"$ref": "#/components/schemas/PipelineHealth"}}}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"}
            }
          }
        },
        "/v1/jobs": {
          "get": {
            "operationId": "listJobs",
            "summary": "Jobs, newest first (admin)",
            "parameters": [
              {"name": "state", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/JobState"}},
              {"name": "queue", "in": "query", "required": false, "schema": {"type": "string"}},
              {"name": "kind", "in": "query", "required": false, "schema": {"type": "string"}},
              {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
              {"name": "cursor", "in": "query", "required": false, "description": "next_cursor of the previous page", "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,17}$"}}
            ],
            "responses": {
              "200": {"description": "One page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobList"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"}
            }
          }
        },
        "/v1/jobs/{id}": {
          "parameters": [{"$ref": "#/components/parameters/JobID"}],
          "get": {
            "operationId": "getJob",
            "summary": "One job, with one error per failed attempt (admin)",
            "responses": {
              "200": {"description": "The job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          },
          "delete": {
            "operationId": "deleteJob",
            "summary": "Delete a job that is not running (admin)",
            "responses": {
              "204": {"description": "Deleted"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"$ref": "#/components/responses/Conflict"}
            }
          }
        },
        "/v1/jobs/{id}/retry": {
          "parameters": [{"$ref": "#/components/parameters/JobID"}],
          "post": {
            "operationId": "retryJob",
            "summary": "Put a discarded, cancelled or completed job back in its queue with fresh attempts (admin)",
            "responses": {
              "200": {"description": "The job, available again", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"$ref": "#/components/responses/Conflict"}
            }
          }
        },
        "/v1/jobs/{id}/cancel": {
          "parameters": [{"$ref": "#/components/parameters/JobID"}],
          "post": {
            "operationId": "cancelJob",
            "summary": "Cancel a job that has not finished; a running one loses its lease at once (admin)",
            "responses": {
              "200": {"description": "The job, cancelled", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"$ref": "#/components/responses/Conflict"}
            }
          }
        },
        "/v1/events": {
          "get": {
            "operationId": "listEvents",
            "summary": "The caller's alerts (admin: everyone's), oldest first, in the order they were committed",
            "description": "Every alert the entries' rules raised (AlertRules), each written in the same transaction as the report or failure that caused it. Poll with next_cursor (always present): a cursor never passes an alert that is yet to commit.",
            "parameters": [
              {"name": "entry", "in": "query", "required": false, "description": "Only this entry's alerts", "schema": {"type": "string", "format": "uuid"}},
              {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
              {"name": "cursor", "in": "query", "required": false, "description": "next_cursor of the previous page", "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}}
            ],
            "responses": {
              "200": {"description": "One page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventList"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/v1/webhooks": {
          "post": {
            "operationId": "createWebhook",
            "summary": "Register an endpoint for the caller's alerts; its signing secret is in this answer only",
            "description": "Deliveries are POSTs signed as Standard Webhooks 1.0 (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256>). The URL must be http(s) and resolve to public addresses (checked again at every delivery) unless its host is in webhooks.internal_hosts.",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookRequest"}}}},
            "responses": {
              "201": {"description": "Registered; secret shown once", "headers": {"Location": {"$ref": "#/components/headers/Location"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Webhook"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "409": {"$ref": "#/components/responses/Conflict"},
              "413": {"$ref": "#/components/responses/TooLarge"},
              "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
              "422": {"$ref": "#/components/responses/Unprocessable"}
            }
          },
          "get": {
            "operationId": "listWebhooks",
            "summary": "The caller's webhooks (admin: everyone's), oldest first",
            "parameters": [
              {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
              {"name": "cursor", "in": "query", "required": false, "description": "next_cursor of the previous page", "schema": {"type": "string", "format": "uuid"}}
            ],
            "responses": {
              "200": {"description": "One page", "content": {"application/json": {"schema": {"type": "object", "required": ["items", "next_cursor"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Webhook"}}, "next_cursor": {"type": ["string", "null"]}}}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"}
            }
          }
        },
        "/v1/webhooks/{id}": {
          "parameters": [{"$ref": "#/components/parameters/WebhookID"}],
          "get": {
            "operationId": "getWebhook",
            "summary": "One webhook (never its secret)",
            "responses": {
              "200": {"description": "The webhook", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Webhook"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          },
          "patch": {
            "operationId": "updateWebhook",
            "summary": "Change, disable or enable a webhook, or rotate its secret",
            "description": "enabled: true starts its run of failures again. rotate_secret: true answers with the new secret, once; the old one keeps signing beside it (a second v1 signature) for webhooks.secret_overlap.",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookPatch"}}}},
            "responses": {
              "200": {"description": "The webhook as changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Webhook"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "413": {"$ref": "#/components/responses/TooLarge"},
              "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
              "422": {"$ref": "#/components/responses/Unprocessable"}
            }
          },
          "delete": {
            "operationId": "deleteWebhook",
            "summary": "Delete a webhook and its delivery log",
            "responses": {
              "204": {"description": "Deleted"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/v1/webhooks/{id}/deliveries": {
          "parameters": [{"$ref": "#/components/parameters/WebhookID"}],
          "get": {
            "operationId": "listWebhookDeliveries",
            "summary": "The endpoint's delivery attempts, newest first",
            "parameters": [
              {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
              {"name": "cursor", "in": "query", "required": false, "description": "next_cursor of the previous page", "schema": {"type": "string", "format": "uuid"}}
            ],
            "responses": {
              "200": {"description": "One page", "content": {"application/json": {"schema": {"type": "object", "required": ["items", "next_cursor"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookDelivery"}}, "next_cursor": {"type": ["string", "null"]}}}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/v1/webhooks/{id}/deliveries/{delivery}/redeliver": {
          "parameters": [{"$ref": "#/components/parameters/WebhookID"}, {"name": "delivery", "in": "path", "required": true, "description": "A delivery id from the log", "schema": {"type": "string"}}],
          "post": {
            "operationId": "redeliverWebhookMessage",
            "summary": "Send that attempt's message again (same webhook-id), with fresh attempts",
            "responses": {
              "202": {"description": "Enqueued (or already waiting)", "content": {"application/json": {"schema": {"type": "object", "required": ["notification_id", "job_id", "enqueued"], "properties": {"notification_id": {"type": "string", "format": "uuid"}, "job_id": {"type": "integer"}, "enqueued": {"type": "boolean"}}}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"$ref": "#/components/responses/Conflict"},
              "410": {"description": "The alerts of that message are gone (their entry was deleted)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
          }
        },
        "/health/live": {
          "get": {
            "operationId": "live", "summary": "The process is up", "security": [],
            "responses": {"200": {"description": "Up", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}
          }
        },
        "/health/ready": {
          "get": {
            "operationId": "ready", "summary": "The process can work: its store answers", "security": [],
            "responses": {
              "200": {"description": "Ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
              "503": {"description": "Not ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
            }
          }
        },
        "/metrics": {
          "get": {
            "operationId": "metrics", "summary": "Prometheus metrics", "security": [],
            "responses": {"200": {"description": "Prometheus text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}}
          }
        },
        "/openapi.json": {
          "get": {
            "operationId": "openapi", "summary": "This document", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}
          }
        }
      },
      "components": {
        "securitySchemes": {
          "bearer": {"type": "http", "scheme": "bearer", "description": "An API key made with `repowatch keys create`."}
        },
        "parameters": {
          "EntryID": {"name": "id", "in": "path", "required": true, "description": "Watchlist entry id", "schema": {"type": "string"}},
          "JobID": {"name": "id", "in": "path", "required": true, "description": "Job id", "schema": {"type": "string"}},
          "RepositoryID": {"name": "id", "in": "path", "required": true, "description": "Repository id (repository_id of an entry)", "schema": {"type": "string"}},
          "WebhookID": {"name": "id", "in": "path", "required": true, "description": "Webhook id", "schema": {"type": "string"}}
        },
        "links": {
          "SeedStatus": {"operationId": "seedEntryStatus", "parameters": {"id": "$response.body#/watchlist_id"}, "description": "Poll the entry just added"}
        },
        "headers": {
          "Location": {"description": "Where the entry lives", "schema": {"type": "string"}},
          "ETag": {"description": "Entity tag of the status body", "schema": {"type": "string"}}
        },
        "responses": {
          "BadRequest": {"description": "Malformed JSON, a missing, mistyped or unknown field, or a bad query parameter", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Unauthorized": {"description": "No valid API key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Forbidden": {"description": "The key may not do this", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "NotFound": {"description": "No such entry for this caller", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Conflict": {"description": "The resource is in a state the action does not apply to, or a limit is reached", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "TooLarge": {"description": "Body over api.max_body_bytes", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "UnsupportedMediaType": {"description": "Body not sent as application/json", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Unprocessable": {"description": "Well-formed but refused: the URL is not a repository URL, its host is not allowed, notes too long", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        },
        "schemas": {
          "JobState": {"type": "string", "enum": ["available", "running", "retryable", "completed", "discarded", "cancelled"]},
          "SchedulerHealth": {
            "type": "object", "required": ["status", "last_run_at", "period_seconds", "overdue_repositories"],
            "properties": {
              "status": {"type": "string", "enum": ["ok", "late", "never_ran", "idle"], "description": "late: no pass for three periods while repositories are overdue"},
              "last_run_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "period_seconds": {"type": "number"},
              "overdue_repositories": {"type": "integer", "minimum": 0, "description": "Repositories whose check is due for longer than three periods"}
            }
          },
          "PipelineHealth": {
            "type": "object", "required": ["stalled", "oldest_stalled_seconds"],
            "properties": {
              "stalled": {"type": "integer", "minimum": 0, "description": "Repositories processing or refreshing with no unfinished stage job: 0 while the lifecycle's invariant holds; the leader's reconcile pass repairs any within pipeline.reconcile_interval"},
              "oldest_stalled_seconds": {"type": ["number", "null"], "description": "Seconds since the longest-stalled one last changed; null when none is"}
            }
          },
          "QueueStats": {
            "type": "object", "required": ["queue", "counts", "oldest_available_age_seconds"],
            "properties": {
              "queue": {"type": "string"},
              "counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}, "description": "Jobs by state"},
              "oldest_available_age_seconds": {"type": ["number", "null"], "description": "How long the oldest due, unstarted job has waited"}
            }
          },
          "Job": {
            "type": "object",
            "required": ["id", "queue", "kind", "args", "unique_key", "state", "priority", "attempt", "max_attempts", "run_at", "lease_owner", "lease_expires_at", "heartbeat_at", "progress", "progress_message", "errors", "created_at", "attempted_at", "finalized_at", "updated_at"],
            "properties": {
              "id": {"type": "integer"},
              "queue": {"type": "string"},
              "kind": {"type": "string"},
              "args": {"description": "The job's arguments"},
              "unique_key": {"type": ["string", "null"]},
              "state": {"$ref": "#/components/schemas/JobState"},
              "priority": {"type": "integer"},
              "attempt": {"type": "integer", "minimum": 0},
              "max_attempts": {"type": "integer", "minimum": 1},
              "run_at": {"$ref": "#/components/schemas/Timestamp"},
              "lease_owner": {"type": ["string", "null"]},
              "lease_expires_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "heartbeat_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "progress": {"type": "integer", "minimum": 0, "maximum": 100},
              "progress_message": {"type": ["string", "null"]},
              "errors": {
                "type": "array",
                "items": {
                  "type": "object", "required": ["attempt", "at", "error"],
                  "properties": {"attempt": {"type": "integer"}, "at": {"$ref": "#/components/schemas/Timestamp"}, "error": {"type": "string"}}
                }
              },
              "created_at": {"$ref": "#/components/schemas/Timestamp"},
              "attempted_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "finalized_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "updated_at": {"$ref": "#/components/schemas/Timestamp"}
            }
          },
          "JobList": {
            "type": "object", "required": ["items", "next_cursor"],
            "properties": {
              "items": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
              "next_cursor": {"type": ["string", "null"]}
            }
          },
          "Status": {"type": "string", "enum": ["processing", "ready", "failed"]},
          "Stage": {"type": "string", "enum": ["queued", "cloning", "backfilling", "analyzing", "done"]},
          "Timestamp": {"type": "string", "format": "date-time"},
          "NullableTimestamp": {"type": ["string", "null"], "format": "date-time"},
          "Error": {
            "type": "object", "required": ["error"], "additionalProperties": false,
            "properties": {
              "error": {
                "type": "object", "required": ["code", "message"], "additionalProperties": false,
                "properties": {
                  "code": {"type": "string", "description": "Stable, for programs"},
                  "message": {"type": "string", "description": "For people"},
                  "details": {"type": "object", "additionalProperties": {"type": "string"}}
                }
              }
            }
          },
          "AddRequest": {
            "type": "object", "required": ["repo_url"], "additionalProperties": false,
            "properties": {
              "repo_url": {"type": "string", "minLength": 1, "maxLength": 2048, "pattern": "^\\s*(([Hh][Tt][Tt][Pp][Ss]?|[Ss][Ss][Hh])://[!-~]+|([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:[!-~]+)\\s*$", "description": "https://, http:// or ssh-style (git@host:owner/name) URL of the repository; its host must be on repos.allowed_hosts (422 otherwise)", "examples": ["https://github.com/apple/swift-nio"]},
              "alerts": {"oneOf": [{"$ref": "#/components/schemas/AlertRules"}, {"type": "null"}], "description": "Alert rules (default: processing and failed)"},
              "notes": {"type": ["string", "null"], "maxLength": 2000, "pattern": "^[^\\u0000]*$"},
              "check_interval": {"type": ["string", "null"], "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$", "description": "Re-check this repository this often (e.g. 6h), from recheck.min_interval to 365d; the repository takes the shortest among its watchers", "examples": ["6h"]},
              "token": {"type": ["string", "null"], "minLength": 1, "maxLength": 4096, "pattern": "^[!-~]+$", "writeOnly": true, "description": "Access token for a private repository (sent to git as HTTP Basic x-access-token). Stored sealed with AES-256-GCM, never shown again; the repository is then private to the caller. 422 tokens_not_configured when the server has no token key."}
            }
          },
          "AlertRules": {
            "type": "object", "additionalProperties": false,
            "description": "Which changes of the repository raise an alert. Score rules watch the health score (0-100), or with metric \"scorecard\" the Scorecard aggregate (0-10); a threshold or regression compares a report with the previous one (the first report raises none) and a rule that stays violated alerts once. {} and {\"enabled\": true} mean {\"processing\": true, \"failed\": true}; {\"enabled\": false} means no rule. Anything else is refused with 422 invalid_alerts naming the field. Stored and shown normalised.",
            "properties": {
              "metric": {"type": "string", "enum": ["health", "scorecard"], "description": "Which score score_below and score_drop watch (default health)"},
              "score_below": {"type": "number", "minimum": 0, "maximum": 100, "description": "Alert when the score goes below this (at most 10 with metric scorecard)"},
              "score_drop": {"type": "number", "exclusiveMinimum": 0, "maximum": 100, "description": "Alert when a report's score is at least this much below the previous report's (at most 10 with metric scorecard)"},
              "check_regressed": {"oneOf": [
                {"type": "string", "const": "any"},
                {"type": "array", "minItems": 1, "maxItems": 64, "items": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9-]{0,63}$"}}
              ], "description": "Alert when one of these Scorecard checks (or any) scores lower than in the previous report; a check becoming inconclusive (-1) is not a regression", "examples": [["Dangerous-Workflow", "Token-Permissions"]]},
              "inactive_days": {"type": "integer", "minimum": 1, "maximum": 3650, "description": "Alert when the last commit is at least this many days old"},
              "processing": {"type": "boolean", "description": "Alert when processing asked for by a user (add, retry, re-check) ends, ready or failed"},
              "failed": {"type": "boolean", "description": "Alert when the repository ends failed, and when it recovers"},
              "enabled": {"type": "boolean", "description": "Seed shorthand, alone: true for the defaults, false for no rule"}
            },
            "allOf": [
              {"if": {"required": ["enabled"]}, "then": {"maxProperties": 1}},
              {"if": {"required": ["metric"], "properties": {"metric": {"const": "scorecard"}}}, "then": {"properties": {"score_below": {"maximum": 10}, "score_drop": {"maximum": 10}}}}
            ]
          },
          "UpdateRequest": {
            "type": "object", "additionalProperties": false,
            "properties": {
              "alerts": {"oneOf": [{"$ref": "#/components/schemas/AlertRules"}, {"type": "null"}], "description": "Replaces the alert rules; null resets them to the defaults (processing and failed)"},
              "notes": {"type": ["string", "null"], "maxLength": 2000, "pattern": "^[^\\u0000]*$", "description": "Replaces the notes; null clears them"},
              "check_interval": {"type": ["string", "null"], "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$", "description": "Replaces the re-check interval; null: the configured one"}
            }
          },
          "Entry": {
            "type": "object",
            "required": ["id", "repository_id", "repo_url", "host", "owner", "name", "user", "status", "stage", "progress", "refreshing", "processing_started_at", "processing_completed_at", "last_error", "failure_reason", "attempts", "private", "health_score", "last_checked_at", "head_commit", "default_branch", "next_check_at", "alerts", "notes", "check_interval_seconds", "stale", "created_at", "updated_at"],
            "properties": {
              "id": {"type": "string", "format": "uuid"},
              "repository_id": {"type": "string", "format": "uuid"},
              "repo_url": {"type": "string", "description": "Canonical URL"},
              "host": {"type": "string"},
              "owner": {"type": "string"},
              "name": {"type": "string"},
              "user": {"type": "string"},
              "status": {"$ref": "#/components/schemas/Status"},
              "stage": {"$ref": "#/components/schemas/Stage"},
              "progress": {"type": "integer", "minimum": 0, "maximum": 100},
              "refreshing": {"type": "boolean", "description": "A ready repository being re-checked"},
              "processing_started_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "processing_completed_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "last_error": {"type": ["string", "null"], "description": "The stage and the reason of the last failure"},
              "failure_reason": {"$ref": "#/components/schemas/FailureReason"},
              "attempts": {"type": "integer", "minimum": 0, "description": "Attempts the current (or last) stage took"},
              "private": {"type": "boolean", "description": "Read with the caller's token: nobody else's entry shares this repository"},
              "health_score": {"type": ["number", "null"], "minimum": 0, "maximum": 100, "description": "The latest health report's overall score"},
              "last_checked_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "head_commit": {"type": ["string", "null"]},
              "default_branch": {"type": ["string", "null"]},
              "next_check_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "alerts": {"type": "object", "description": "The entry's alert rules, normalised (see AlertRules)"},
              "notes": {"type": ["string", "null"]},
              "check_interval_seconds": {"type": ["integer", "null"], "minimum": 1},
              "stale": {"type": "boolean", "description": "The last successful check is older than twice the entry's interval"},
              "created_at": {"$ref": "#/components/schemas/Timestamp"},
              "updated_at": {"$ref": "#/components/schemas/Timestamp"}
            }
          },
          "Event": {
            "type": "object",
            "required": ["id", "notification_id", "entry_id", "repository", "rule", "subject", "previous", "current", "previous_report_id", "report_id", "summary", "created_at"],
            "properties": {
              "id": {"type": "string", "format": "uuid"},
              "notification_id": {"type": "string", "format": "uuid", "description": "Shared by the alerts one report or failure raised for one entry; a webhook message carries them together, with this as its webhook-id"},
              "entry_id": {"type": "string", "format": "uuid"},
              "repository": {"type": "object", "required": ["id", "url"], "properties": {"id": {"type": "string", "format": "uuid"}, "url": {"type": "string"}}},
              "rule": {"type": "string", "enum": ["score_below", "score_drop", "check_regressed", "inactive_days", "processing", "failed", "recovered"]},
              "subject": {"type": ["string", "null"], "description": "check_regressed: the check; processing: ready, failed or recheck_failed; failed: the reason"},
              "previous": {"type": ["number", "null"], "description": "The value in the previous report (score, check score, days)"},
              "current": {"type": ["number", "null"], "description": "The value now"},
              "previous_report_id": {"type": ["string", "null"], "format": "uuid"},
              "report_id": {"type": ["string", "null"], "format": "uuid"},
              "summary": {"type": "string", "description": "The alert in one sentence"},
              "created_at": {"$ref": "#/components/schemas/Timestamp"}
            }
          },
          "EventList": {
            "type": "object", "required": ["items", "next_cursor", "has_more"],
            "properties": {
              "items": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
              "next_cursor": {"type": "string", "description": "Always present: pass it as cursor to get the events after these"},
              "has_more": {"type": "boolean"}
            }
          },
          "WebhookRequest": {
            "type": "object", "required": ["url"], "additionalProperties": false,
            "properties": {
              "url": {"type": "string", "minLength": 8, "maxLength": 2048, "pattern": "^https?://", "description": "http(s) URL of the endpoint; no credentials, no fragment"},
              "events": {"type": ["array", "null"], "minItems": 1, "items": {"type": "string", "enum": ["score_below", "score_drop", "check_regressed", "inactive_days", "processing", "failed", "recovered"]}, "description": "Alerts it receives; null or absent: all"},
              "entries": {"type": ["array", "null"], "minItems": 1, "items": {"type": "string", "format": "uuid"}, "description": "The caller's entries (at most 1000) it receives alerts of; null or absent: all"},
              "format": {"type": "string", "enum": ["standard", "slack"], "description": "standard: {type, timestamp, data}; slack: {text} for Slack-compatible incoming webhooks"},
              "description": {"type": ["string", "null"], "maxLength": 500}
            }
          },
          "WebhookPatch": {
            "type": "object", "additionalProperties": false,
            "properties": {
              "url": {"type": "string", "minLength": 8, "maxLength": 2048, "pattern": "^https?://"},
              "events": {"type": ["array", "null"], "minItems": 1, "items": {"type": "string", "enum": ["score_below", "score_drop", "check_regressed", "inactive_days", "processing", "failed", "recovered"]}},
              "entries": {"type": ["array", "null"], "minItems": 1, "items": {"type": "string", "format": "uuid"}, "description": "At most 1000"},
              "format": {"type": "string", "enum": ["standard", "slack"]},
              "description": {"type": ["string", "null"], "maxLength": 500},
              "enabled": {"type": "boolean"},
              "rotate_secret": {"type": "boolean"}
            }
          },
          "Webhook": {
            "type": "object",
            "required": ["id", "url", "format", "events", "entries", "description", "enabled", "disabled_reason", "consecutive_failures", "failing_since", "previous_secret_expires_at", "created_at", "updated_at"],
            "properties": {
              "id": {"type": "string", "format": "uuid"},
              "url": {"type": "string"},
              "format": {"type": "string", "enum": ["standard", "slack"]},
              "events": {"type": ["array", "null"], "items": {"type": "string"}},
              "entries": {"type": ["array", "null"], "items": {"type": "string", "format": "uuid"}},
              "description": {"type": ["string", "null"]},
              "enabled": {"type": "boolean"},
              "disabled_reason": {"type": ["string", "null"], "description": "By its owner, or after webhooks.disable_after_failures failed attempts in a row over webhooks.disable_after"},
              "consecutive_failures": {"type": "integer", "minimum": 0},
              "failing_since": {"$ref": "#/components/schemas/NullableTimestamp"},
              "previous_secret_expires_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "secret": {"type": "string", "pattern": "^whsec_", "description": "Only when made or rotated: whsec_ + base64 of the HMAC key"},
              "created_at": {"$ref": "#/components/schemas/Timestamp"},
              "updated_at": {"$ref": "#/components/schemas/Timestamp"}
            }
          },
          "WebhookDelivery": {
            "type": "object",
            "required": ["id", "notification_id", "webhook_id", "attempt", "outcome", "response_status", "latency_ms", "error", "created_at"],
            "properties": {
              "id": {"type": "string", "format": "uuid"},
              "notification_id": {"type": "string", "format": "uuid", "description": "The message: its webhook-id is msg_<notification_id>"},
              "webhook_id": {"type": "string", "format": "uuid"},
              "attempt": {"type": "integer", "minimum": 1},
              "outcome": {"type": "string", "enum": ["succeeded", "failed", "skipped"]},
              "response_status": {"type": ["integer", "null"]},
              "latency_ms": {"type": ["integer", "null"]},
              "error": {"type": ["string", "null"], "description": "http_error, timed_out, unreachable, redirected, private_address, …"},
              "created_at": {"$ref": "#/components/schemas/Timestamp"}
            }
          },
          "EntryList": {
            "type": "object", "required": ["items", "next_cursor"],
            "properties": {
              "items": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}},
              "next_cursor": {"type": ["string", "null"], "description": "Pass as cursor for the next page; null on the last page"}
            }
          },
          "EntryStatus": {
            "type": "object",
            "required": ["id", "repository_id", "repo_url", "status", "stage", "progress", "refreshing", "processing_started_at", "processing_completed_at", "last_error", "failure_reason", "attempts", "health_score", "last_checked_at", "head_commit", "stale"],
            "properties": {
              "id": {"type": "string", "format": "uuid"},
              "repository_id": {"type": "string", "format": "uuid"},
              "repo_url": {"type": "string"},
              "status": {"$ref": "#/components/schemas/Status"},
              "stage": {"$ref": "#/components/schemas/Stage"},
              "progress": {"type": "integer", "minimum": 0, "maximum": 100},
              "refreshing": {"type": "boolean"},
              "processing_started_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "processing_completed_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "last_error": {"type": ["string", "null"]},
              "failure_reason": {"$ref": "#/components/schemas/FailureReason"},
              "attempts": {"type": "integer", "minimum": 0},
              "health_score": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
              "last_checked_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "head_commit": {"type": ["string", "null"]},
              "stale": {"type": "boolean"}
            }
          },
          "FailureReason": {"type": ["string", "null"], "description": "Machine-readable reason of the last failure: not_found, auth_required, too_large, timed_out, empty_repository, protocol_not_allowed, token_unavailable, git_failed, error", "examples": ["too_large"]},
          "Activity": {
            "type": "object",
            "required": ["repository_id", "commits_total", "commits_30d", "commits_90d", "commits_365d", "active_authors_90d", "days_since_last_commit", "bus_factor", "weekly_commits", "top_authors", "window_start", "computed_at", "window_empty", "complete", "head_commit"],
            "properties": {
              "repository_id": {"type": "string", "format": "uuid"},
              "commits_total": {"type": "integer", "minimum": 0, "description": "Commits stored for the window (at most git.max_commits), bots' included"},
              "commits_30d": {"type": "integer", "minimum": 0, "description": "Commits committed at or after now minus 30 days, as git rev-list --since counts them"},
              "commits_90d": {"type": "integer", "minimum": 0},
              "commits_365d": {"type": "integer", "minimum": 0},
              "active_authors_90d": {"type": "integer", "minimum": 0, "description": "Distinct authors of the last 90 days by email after .mailmap, case-insensitive; bots ([bot] accounts) left out"},
              "days_since_last_commit": {"type": ["integer", "null"], "minimum": 0},
              "bus_factor": {"type": "integer", "minimum": 0, "description": "CHAOSS bus factor: fewest authors who together made at least half of the window's commits; bots ([bot] accounts) left out"},
              "weekly_commits": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 52, "maxItems": 52, "description": "Commits per week for the last 52 weeks, oldest first"},
              "top_authors": {"type": "array", "maxItems": 10, "description": "The ten authors with the most commits in the window (bots left out), each with their most used spelling", "items": {"type": "object", "required": ["name", "email", "commits"], "properties": {"name": {"type": "string"}, "email": {"type": "string"}, "commits": {"type": "integer", "minimum": 1}}}},
              "window_start": {"$ref": "#/components/schemas/Timestamp"},
              "computed_at": {"$ref": "#/components/schemas/Timestamp"},
              "window_empty": {"type": "boolean", "description": "No commit inside the window: the clone holds the newest commit alone"},
              "complete": {"type": "boolean", "description": "The backfill stored the whole window up to the current head"},
              "head_commit": {"type": ["string", "null"]}
            }
          },
          "HealthReport": {
            "type": "object",
            "required": ["id", "repository_id", "head_commit", "health_score", "confidence", "health", "activity", "scorecard", "scorecard_errored_checks", "created_at"],
            "properties": {
              "id": {"type": "string", "format": "uuid"},
              "repository_id": {"type": "string", "format": "uuid"},
              "head_commit": {"type": "string"},
              "health_score": {"type": "number", "minimum": 0, "maximum": 100, "description": "Weighted mix of the Scorecard aggregate and activity signals (README, Health analysis)"},
              "confidence": {"type": "number", "minimum": 0, "maximum": 1, "description": "Share of the weight whose signal was measured"},
              "health": {"type": "object", "description": "score, confidence, components (signal, value, normalized, weight) and missing signals"},
              "activity": {"type": "object", "description": "The activity metrics of the window at the time of the report"},
              "scorecard": {"type": ["object", "null"], "description": "The Scorecard JSON v2 result for this head, as the command printed it"},
              "scorecard_version": {"type": "string"},
              "scorecard_errored_checks": {"type": "array", "items": {"type": "string"}},
              "created_at": {"$ref": "#/components/schemas/Timestamp"}
            }
          },
          "Commit": {
            "type": "object",
            "required": ["sha", "parents", "author_name", "author_email", "authored_at", "committed_at", "summary", "files_changed", "additions", "deletions"],
            "properties": {
              "sha": {"type": "string"},
              "parents": {"type": "array", "items": {"type": "string"}},
              "author_name": {"type": "string"},
              "author_email": {"type": "string"},
              "authored_at": {"$ref": "#/components/schemas/Timestamp"},
              "committed_at": {"$ref": "#/components/schemas/Timestamp"},
              "summary": {"type": "string"},
              "files_changed": {"type": ["integer", "null"], "minimum": 0, "description": "Null at the shallow boundary, where the diff is unknown"},
              "additions": {"type": ["integer", "null"], "minimum": 0},
              "deletions": {"type": ["integer", "null"], "minimum": 0}
            }
          },
          "CommitList": {
            "type": "object", "required": ["items", "next_cursor"],
            "properties": {
              "items": {"type": "array", "items": {"$ref": "#/components/schemas/Commit"}},
              "next_cursor": {"type": ["string", "null"]}
            }
          },
          "SeedAddRequest": {
            "type": "object", "required": ["repo_url", "added_by"], "additionalProperties": false,
            "properties": {
              "repo_url": {"type": "string", "minLength": 1, "maxLength": 2048, "pattern": "^\\s*(([Hh][Tt][Tt][Pp][Ss]?|[Ss][Ss][Hh])://[!-~]+|([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:[!-~]+)\\s*$", "examples": ["https://github.com/facebook/react"]},
              "added_by": {"type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$", "description": "The caller's user name (any user's with an admin key)", "examples": ["alice"]},
              "alerts": {"oneOf": [{"$ref": "#/components/schemas/AlertRules"}, {"type": "null"}]},
              "notes": {"type": ["string", "null"], "maxLength": 2000, "pattern": "^[^\\u0000]*$"}
            }
          },
          "SeedAddResponse": {
            "type": "object", "required": ["message", "watchlist_id", "status"],
            "properties": {
              "message": {"type": "string"},
              "watchlist_id": {"type": "string", "format": "uuid"},
              "status": {"$ref": "#/components/schemas/Status"}
            }
          },
          "SeedStatus": {
            "type": "object", "required": ["watchlist_id", "status", "processing_started_at", "processing_completed_at", "package", "user_watchlists"],
            "properties": {
              "watchlist_id": {"type": "string", "format": "uuid"},
              "status": {"$ref": "#/components/schemas/Status"},
              "processing_started_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "processing_completed_at": {"$ref": "#/components/schemas/NullableTimestamp"},
              "package": {
                "type": "object",
                "required": ["repository_id", "repo_url", "host", "owner", "name", "stage", "progress", "last_error", "head_commit", "default_branch", "health_score", "last_checked_at"],
                "properties": {
                  "repository_id": {"type": "string", "format": "uuid"},
                  "repo_url": {"type": "string"},
                  "host": {"type": "string"},
                  "owner": {"type": "string"},
                  "name": {"type": "string"},
                  "stage": {"$ref": "#/components/schemas/Stage"},
                  "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                  "last_error": {"type": ["string", "null"]},
                  "head_commit": {"type": ["string", "null"]},
                  "default_branch": {"type": ["string", "null"]},
                  "health_score": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
                  "last_checked_at": {"$ref": "#/components/schemas/NullableTimestamp"}
                }
              },
              "user_watchlists": {
                "type": "array",
                "items": {
                  "type": "object", "required": ["watchlist_id", "user", "alerts", "notes", "created_at"],
                  "properties": {
                    "watchlist_id": {"type": "string", "format": "uuid"},
                    "user": {"type": "string"},
                    "alerts": {"type": "object"},
                    "notes": {"type": ["string", "null"]},
                    "created_at": {"$ref": "#/components/schemas/Timestamp"}
                  }
                }
              }
            }
          },
          "Health": {
            "type": "object", "required": ["status"],
            "properties": {
              "status": {"type": "string"},
              "checks": {"type": ["object", "null"], "additionalProperties": {"type": "string"}}
            }
          }
        }
      }
    }
    """#
}

extension OpenAPIDocument {
    /// Methods per documented path template, read from the document itself, so that a request with
    /// a known path and an unknown method gets 405 and an `Allow` header rather than 404.
    static let methodsByPath: [(segments: [Substring], methods: [String])] = {
        guard case .object(let root)? = JSONValue.parse(data), case .object(let paths)? = root["paths"] else { return [] }
        let verbs = ["get", "put", "post", "delete", "patch"]
        return paths.map { path, item in
            guard case .object(let operations) = item else { return (path.split(separator: "/"), []) }
            var methods = verbs.filter { operations[$0] != nil }.map { $0.uppercased() }
            if methods.contains("GET") { methods.append("HEAD") }
            return (path.split(separator: "/"), methods)
        }
    }()

    /// The methods the document allows on `path`, or nil when no documented path matches it.
    static func allowedMethods(for path: String) -> [String]? {
        let segments = path.split(separator: "/")
        for (template, methods) in methodsByPath where template.count == segments.count {
            let matches = zip(template, segments).allSatisfy { t, s in (t.hasPrefix("{") && t.hasSuffix("}")) || t == s }
            if matches { return methods }
        }
        return nil
    }
}
