// gocql (Debian golang-github-gocql-gocql-dev) as a second CQL client against the project's CQL
// test node, protocol v4. Writes a small chat history into KEYSPACE with prepared statements (gocql
// prepares every query), updates a map element, reads it back by partition key with a clustering
// range, and prints each row as one JSON line.
//
//   gocql-chat HOST PORT KEYSPACE
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/gocql/gocql"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func main() {
	port, _ := strconv.Atoi(os.Args[2])
	ks := os.Args[3]
	c := gocql.NewCluster(os.Args[1])
	c.Port = port
	c.ProtoVersion = 4
	c.Timeout = 10 * time.Second
	c.ConnectTimeout = 10 * time.Second
	c.DisableInitialHostLookup = true
	s, err := c.CreateSession()
	must(err)
	defer s.Close()
	must(s.Query("CREATE KEYSPACE " + ks + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").Exec())
	must(s.Query("CREATE TABLE " + ks + ".messages (chat_id text, message_id bigint, sender_id bigint, body text, reactions map<bigint, text>, PRIMARY KEY ((chat_id), message_id)) WITH CLUSTERING ORDER BY (message_id DESC)").Exec())
	for i := int64(1); i <= 5; i++ {
		must(s.Query("INSERT INTO "+ks+".messages (chat_id, message_id, sender_id, body) VALUES (?, ?, ?, ?)",
			"g1", 1000+i, i%2, fmt.Sprintf("gocql message %d", i)).Exec())
	}
	must(s.Query("UPDATE "+ks+".messages SET reactions[?] = ? WHERE chat_id = ? AND message_id = ?", int64(7), "🎉", "g1", int64(1003)).Exec())
	it := s.Query("SELECT message_id, sender_id, body, reactions FROM "+ks+".messages WHERE chat_id = ? AND message_id >= ? AND message_id < ?",
		"g1", int64(1002), int64(1005)).PageSize(2).Iter()
	var id, sender int64
	var body string
	var reactions map[int64]string
	for it.Scan(&id, &sender, &body, &reactions) {
		keys := make([]int64, 0, len(reactions))
		for k := range reactions {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(a, b int) bool { return keys[a] < keys[b] })
		pairs := [][]string{}
		for _, k := range keys {
			pairs = append(pairs, []string{strconv.FormatInt(k, 10), reactions[k]})
		}
		line, _ := json.Marshal([]interface{}{strconv.FormatInt(id, 10), strconv.FormatInt(sender, 10), body, pairs})
		fmt.Println(string(line))
		reactions = nil
	}
	must(it.Close())
}
