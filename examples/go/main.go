// A Lambda function in Go for the provided.al2023 runtime, written against the Runtime API with
// the standard library only (no aws-lambda-go). Build and deploy:
//
//	CGO_ENABLED=0 go build -o bootstrap main.go && zip function.zip bootstrap
//	aws lambda create-function --function-name hello-go --runtime provided.al2023 --handler bootstrap \
//	    --role arn:aws:iam::000000000000:role/any --zip-file fileb://function.zip
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

type event struct {
	Name string `json:"name"`
	Fail bool   `json:"fail"`
}

type response struct {
	Greeting    string `json:"greeting"`
	RequestID   string `json:"request_id"`
	RemainingMs int64  `json:"remaining_ms"`
	Function    string `json:"function"`
}

// handle is the function itself; everything else is the runtime loop.
func handle(in event, requestID string, deadline time.Time) (response, error) {
	if in.Fail {
		return response{}, fmt.Errorf("asked to fail for %q", in.Name)
	}
	if in.Name == "" {
		in.Name = "world"
	}
	fmt.Printf("greeting %s\n", in.Name)
	return response{
		Greeting:    "hello " + in.Name + " from Go",
		RequestID:   requestID,
		RemainingMs: time.Until(deadline).Milliseconds(),
		Function:    os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
	}, nil
}

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	for {
		next, err := http.Get(api + "next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "next:", err)
			os.Exit(1)
		}
		body, _ := io.ReadAll(next.Body)
		next.Body.Close()
		requestID := next.Header.Get("Lambda-Runtime-Aws-Request-Id")
		deadlineMs, _ := strconv.ParseInt(next.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)

		var in event
		var out []byte
		route, kind := "/response", ""
		result, err := response{}, json.Unmarshal(body, &in)
		if err == nil {
			result, err = handle(in, requestID, time.UnixMilli(deadlineMs))
		}
		if err == nil {
			out, _ = json.Marshal(result)
		} else {
			route, kind = "/error", "Unhandled"
			out, _ = json.Marshal(map[string]any{"errorMessage": err.Error(), "errorType": "errorString"})
		}
		request, _ := http.NewRequest(http.MethodPost, api+requestID+route, bytes.NewReader(out))
		if kind != "" {
			request.Header.Set("Lambda-Runtime-Function-Error-Type", kind)
		}
		if reply, err := http.DefaultClient.Do(request); err == nil {
			io.Copy(io.Discard, reply.Body)
			reply.Body.Close()
		}
	}
}
