// CQL anchor: gocql (Debian golang-github-gocql-gocql-dev, protocol v4) against the same CQL test
// node as CQLClientBenchmarks, in the same run. Prepared EXECUTE ops/s with 1 and 64 requests in
// flight on one connection, and rows/s reading the 5000-row wide partition in pages of 1000.
//
//	cql-bench-gocql HOST PORT KEYSPACE SECONDS   -> one JSON object on stdout
package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocql/gocql"
	"gopkg.in/inf.v0"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func main() {
	port, _ := strconv.Atoi(os.Args[2])
	seconds, _ := strconv.ParseFloat(os.Args[4], 64)
	duration := time.Duration(seconds * float64(time.Second))
	c := gocql.NewCluster(os.Args[1])
	c.Port = port
	c.Keyspace = os.Args[3]
	c.ProtoVersion = 4
	c.Consistency = gocql.One
	c.NumConns = 1
	c.Timeout = 30 * time.Second
	c.ConnectTimeout = 10 * time.Second
	c.DisableInitialHostLookup = true
	s, err := c.CreateSession()
	must(err)
	defer s.Close()
	out := map[string]float64{}

	var k, v interface{}
	var key int32
	var value string
	_ = k
	_ = v
	n := 0
	start := time.Now()
	for time.Since(start) < duration {
		must(s.Query("SELECT k, v FROM kv WHERE k = ?", n%100).Scan(&key, &value))
		n++
	}
	out["gocql execute x1"] = float64(n) / time.Since(start).Seconds()

	var total int64
	var wg sync.WaitGroup
	start = time.Now()
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var key int32
			var value string
			for i := w; time.Since(start) < duration; i += 64 {
				must(s.Query("SELECT k, v FROM kv WHERE k = ?", i%100).Scan(&key, &value))
				atomic.AddInt64(&total, 1)
			}
		}(w)
	}
	wg.Wait()
	out["gocql execute x64"] = float64(total) / time.Since(start).Seconds()

	rows := 0
	start = time.Now()
	for time.Since(start) < duration {
		it := s.Query("SELECT pk, ck, c_text1, c_text2, c_big1, c_big2, c_int, c_double, c_float, c_bool, c_uuid, c_timeuuid, c_ts, c_date, c_blob, c_small, c_tiny, c_dec, c_inet, c_varint FROM wide WHERE pk = 0").PageSize(1000).Iter()
		var pk, ck, cInt int32
		var t1, t2 string
		var b1, b2 int64
		var d float64
		var f float32
		var bo bool
		var u, tu gocql.UUID
		var ts, date time.Time
		var blob []byte
		var small int16
		var tiny int8
		var dec inf.Dec
		var inet string
		var vi big.Int
		for it.Scan(&pk, &ck, &t1, &t2, &b1, &b2, &cInt, &d, &f, &bo, &u, &tu, &ts, &date, &blob, &small, &tiny, &dec, &inet, &vi) {
			rows++
		}
		must(it.Close())
	}
	out["gocql page rows/s"] = float64(rows) / time.Since(start).Seconds()
	enc, _ := json.Marshal(out)
	fmt.Println(string(enc))
}
