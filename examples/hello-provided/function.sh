# The handler: gets the event's file, prints the response JSON.
handler() {
  bytes=$(wc -c < "$1")
  printf '{"statusCode":200,"body":"hello from sh on %s (event of %s bytes)"}' \
    "$(uname -m)" "$bytes"
}
