using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Glance.Cluster.Tests.Support;
using Xunit.Abstractions;

namespace Glance.Cluster.Tests;

/// <summary>
/// The azure profile under faults, on real processes (3 silos, 2 API nodes, Azurite): a silo
/// killed or stopped under a mixed load, an API node killed mid-upload, the storage service gone
/// for a few seconds. After each: no acknowledged write lost, no checksum mismatch, no image left
/// in saving, the list and the images agree. Each test is bounded in requests and time, and leaves
/// the cluster whole for the next.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FaultTests(ClusterFixture fixture, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan LoadTime = TimeSpan.FromSeconds(24);
    private static readonly TimeSpan FaultAt = TimeSpan.FromSeconds(6);
    // The aim: requests fail for at most 10 s after a silo is killed. An API node's calls through the dead
    // gateway fail after AzureCluster.ClientResponseTimeout (7 s); calls to the dead silo's grains once it is
    // declared dead (AzureCluster.FailureDetection: about 3 s here, more on a loaded machine).
    private static readonly TimeSpan FailureWindow = TimeSpan.FromSeconds(10);
    // The worst case of an abandoned upload: its lease ends LeaseSeconds after the last renewal, and the grain
    // looks at it every LeaseSeconds / 2, so it is undone about 1.5 leases after its node stopped renewing; 3 s
    // more for the undo's own writes and the test's polling.
    private static readonly TimeSpan LeaseBound = TimeSpan.FromSeconds(LocalCluster.LeaseSeconds * 1.5 + 3);
    // A 24 s load compares a few hundred downloads on a 2-core machine (about 370 here, with the kill); far
    // fewer means the load hardly ran, and "0 checksum mismatches" would say nothing.
    private const int MinimumDownloadsCompared = 50;

    private readonly LocalCluster _cluster = fixture.Cluster;
    private readonly List<ImagesHttp> _nodes = [.. fixture.Cluster.ApiNodes.OrderBy(n => n.Key).Select(n => new ImagesHttp(n.Value))];

    public void Dispose() => _nodes.ForEach(n => n.Dispose());

    [Fact]
    public async Task Every_api_node_serves_the_whole_api_and_the_bytes_cross_nodes()
    {
        var (status, id, body) = await _nodes[0].CreateAsync("across-nodes");
        Assert.True(status == HttpStatusCode.Created, body);
        var data = RandomNumberGeneratorBytes(3 << 20);
        Assert.Equal(HttpStatusCode.NoContent, await _nodes[1].UploadAsync(id!.Value, data));

        var (downloaded, md5) = await _nodes[0].DownloadMd5Async(id.Value);
        Assert.Equal(HttpStatusCode.OK, downloaded);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(data)), md5);
        Assert.Equal("active", (await _nodes[1].GetAsync(id.Value)).Image!["status"]!.GetValue<string>());
        Assert.Contains(id.Value, await _nodes[1].ListAllAsync());
        Assert.Equal(HttpStatusCode.OK, (await _nodes[0].GetAsync(id.Value)).Status);
    }

    [Fact]
    public async Task Killing_a_silo_under_load_loses_no_acknowledged_write_and_fails_requests_only_briefly()
    {
        var load = new MixedLoad();
        var killedAt = TimeSpan.Zero;
        await load.RunAsync(_nodes, workersPerNode: 4, LoadTime, async () =>
        {
            await Task.Delay(FaultAt);
            // Taken before cluster.sh sends SIGKILL: every bound below, measured from here, is at least as strict as from the kill.
            killedAt = load.Elapsed;
            output.WriteLine($"killing silo 2 at {DateTime.UtcNow:HH:mm:ss.fff} UTC ({load.Elapsed.TotalSeconds:0.0} s into the load)");
            await _cluster.NodeAsync("kill", "silo", 2);
        });
        Report(load);
        // Where the window goes: when the others suspected and declared the silo dead, and what the API nodes saw.
        foreach (var line in _cluster.LogLines(l => l.Contains("dead", StringComparison.OrdinalIgnoreCase)
            || l.Contains("suspect", StringComparison.OrdinalIgnoreCase) || l.Contains("answered 5", StringComparison.Ordinal)).Take(60).Concat(ServerFaults()))
        {
            output.WriteLine("  " + (line.Length > 400 ? line[..400] : line));
        }
        try
        {
            Assert.DoesNotContain(load.Outcomes, o => o.Status == 500);
            Assert.DoesNotContain(load.Outcomes, o => o.Status == 0); // no hang, no dropped connection
            // Every request that got no 2xx answer (any status: the load makes no request that may be refused)
            // ended between the kill and the end of the failure window.
            // (An upload whose grain's silo died while it completed once answered 410 here, 10 s after the kill: the API
            // node had stopped renewing, and its retried completion outlasted the new activation's lease. It now renews
            // until the upload is committed.)
            AssertFailuresWithin(load, killedAt, FailureWindow, _cluster);
            // After the window, requests succeed again: on every API node.
            foreach (var node in _nodes)
            {
                Assert.True(load.Outcomes.Any(o => o.Node == node.BaseAddress && o.Succeeded && o.Started > killedAt + FailureWindow),
                    $"no request through {node.BaseAddress} that started after the failure window ({(killedAt + FailureWindow).TotalSeconds:0.0} s) succeeded");
            }
            await AssertNothingLostAsync(load);
        }
        finally
        {
            await _cluster.NodeAsync("start", "silo", 2);
        }
    }

    [Fact]
    public async Task Stopping_a_silo_gracefully_under_load_fails_no_request_and_a_new_silo_joins()
    {
        var load = new MixedLoad();
        await load.RunAsync(_nodes, workersPerNode: 4, LoadTime, async () =>
        {
            await Task.Delay(FaultAt);
            await _cluster.NodeAsync("stop", "silo", 3);
            await Task.Delay(TimeSpan.FromSeconds(4));
            await _cluster.RunAsync(TimeSpan.FromMinutes(1), "add", "silo");
        });
        Report(load);
        // The 503s the API nodes retried, and the catalog updates the stop interrupted (each must be sent again).
        foreach (var line in _cluster.LogLines(l => l.Contains("answered 5", StringComparison.Ordinal)).Take(20)
                     .Concat(_cluster.LogLines(l => l.Contains("Catalog update for image", StringComparison.Ordinal)).Take(20))
                     .Concat(ServerFaults()))
        {
            output.WriteLine("  " + (line.Length > 600 ? line[..600] : line));
        }
        try
        {
            // 0 failed requests: every answer a 2xx (the load makes no request that may be refused, see MixedLoad.Failures).
            // (A PUT /file that reached silo 3 as it stopped once answered 503 "Silo stopping": the API nodes now send a
            // rejected call again, RejectedCallRetry.)
            var failures = load.Failures;
            Assert.True(failures.Count == 0, $"{failures.Count} requests got no 2xx answer:\n" + string.Join('\n', failures.Take(10))
                + "\nwhat the API nodes answered 500 for:\n" + string.Join('\n', ServerFaults().Take(12).Select(l => l.Length > 300 ? l[..300] : l)));
            await AssertNothingLostAsync(load);
            var status = await _cluster.StatusAsync();
            Assert.True(status.Split('\n').Count(l => l.Contains(" Active ", StringComparison.Ordinal)) >= 3, status);
        }
        finally
        {
            await _cluster.NodeAsync("start", "silo", 3);
        }
    }

    [Fact]
    public async Task Killing_an_api_node_mid_upload_returns_the_image_to_queued_within_the_lease_and_a_retry_elsewhere_works()
    {
        var load = new MixedLoad();
        var (killedAt, restartedAt) = (TimeSpan.MaxValue, TimeSpan.MaxValue);
        await load.RunAsync(_nodes, workersPerNode: 2, LoadTime, async () =>
        {
            await Task.Delay(FaultAt);
            var (status, id, body) = await _nodes[1].CreateAsync("upload-through-a-dying-node");
            Assert.True(status == HttpStatusCode.Created, body);
            using var cancel = new CancellationTokenSource();
            var upload = _nodes[1].UploadAsync(id!.Value, [], new StreamContent(new SlowStream(cancel.Token)), cancel.Token);
            await EventuallyAsync(async () => (await _nodes[0].GetAsync(id.Value)).Image?["status"]?.GetValue<string>() == "saving", TimeSpan.FromSeconds(15), "the upload starts");

            // Taken before cluster.sh sends SIGKILL: the time measured is at least the time since the kill.
            killedAt = load.Elapsed;
            var killed = Stopwatch.StartNew();
            await _cluster.NodeAsync("kill", "api", 2);
            try
            {
                await EventuallyAsync(async () => (await _nodes[0].GetAsync(id.Value)).Image?["status"]?.GetValue<string>() == "queued",
                    LeaseBound, "the image is queued again");
                output.WriteLine($"queued {killed.Elapsed.TotalSeconds:0.0} s after the API node died (lease {LocalCluster.LeaseSeconds} s, bound {LeaseBound.TotalSeconds} s)");
                Assert.True(killed.Elapsed <= LeaseBound, $"queued again only {killed.Elapsed.TotalSeconds:0.0} s after the kill (bound {LeaseBound.TotalSeconds} s)");

                var data = RandomNumberGeneratorBytes(1 << 20);
                Assert.Equal(HttpStatusCode.NoContent, await _nodes[0].UploadAsync(id.Value, data));
                Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(data)), (await _nodes[0].DownloadMd5Async(id.Value)).Md5);
            }
            finally
            {
                await cancel.CancelAsync();
                await Task.WhenAny(upload, Task.Delay(TimeSpan.FromSeconds(5)));
                await _cluster.NodeAsync("start", "api", 2);
                restartedAt = load.Elapsed;
            }
        });
        Report(load);
        // The mixed load ran through both nodes all along: the surviving node answered every request,
        // the dead one failed only between its kill and its restart, and no write acknowledged by
        // either is lost.
        Assert.DoesNotContain(load.Outcomes, o => o.Status == 500);
        var survivor = load.Outcomes.Where(o => o.Node == _nodes[0].BaseAddress && !o.Succeeded).ToList();
        Assert.True(survivor.Count == 0, $"{survivor.Count} requests through the surviving API node failed:\n" + string.Join('\n', survivor.Take(20)));
        var outside = load.Failures.Where(o => o.At < killedAt || o.Started > restartedAt).ToList();
        Assert.True(outside.Count == 0, $"{outside.Count} requests through the killed node failed outside its kill ({killedAt.TotalSeconds:0.0} s) .. restart ({restartedAt.TotalSeconds:0.0} s):\n"
            + string.Join('\n', outside.Take(20)));
        await AssertNothingLostAsync(load);
    }

    [Fact]
    public async Task While_the_storage_service_is_gone_requests_get_a_prompt_503_and_nothing_is_half_written()
    {
        var (status, existing, body) = await _nodes[0].CreateAsync("before-the-outage");
        Assert.True(status == HttpStatusCode.Created, body);
        // Every create sends its own id, so that each one attempted is known, whatever its answer.
        var attempted = new List<(Guid Id, HttpStatusCode Status)>();
        var answers = new List<(string What, HttpStatusCode Status, string Body, TimeSpan Took)>();
        // A mixed load through both nodes before, during and after the outage, besides the requests below.
        var load = new MixedLoad();
        await load.RunAsync(_nodes, workersPerNode: 2, LoadTime, async () =>
        {
            await Task.Delay(FaultAt);
            await _cluster.NodeAsync("stop", "azurite");
            try
            {
                var outage = Stopwatch.StartNew();
                while (outage.Elapsed < TimeSpan.FromSeconds(8))
                {
                    var took = Stopwatch.StartNew();
                    var id = Guid.NewGuid();
                    var created = await _nodes[0].CreateWithIdAsync(id, "during-the-outage");
                    answers.Add(("create", created.Status, created.Body, took.Elapsed));
                    attempted.Add((id, created.Status));
                    took.Restart();
                    var upload = await _nodes[1].UploadWithBodyAsync(existing!.Value, RandomNumberGeneratorBytes(4096));
                    answers.Add(("upload", upload.Status, upload.Body, took.Elapsed));
                }
                // A load balancer asking /readyz now hears which part is missing.
                var (readyStatus, readyBody) = await _nodes[0].GetTextAsync("/readyz");
                output.WriteLine($"readyz during the outage: {(int)readyStatus} {readyBody}");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, readyStatus);
                var checks = JsonNode.Parse(readyBody)!["checks"]!;
                Assert.Equal("failed", checks["image-data"]!["status"]!.GetValue<string>());
                Assert.Equal("failed", checks["grain-storage"]!["status"]!.GetValue<string>());
                Assert.Equal("ok", checks["cluster"]!["status"]!.GetValue<string>()); // the silos are there; their storage is not
            }
            finally
            {
                await _cluster.NodeAsync("start", "azurite");
            }
        });
        Report(load);
        // The load's answers too: each a success or a 503 (the load makes no request that may be
        // refused), none a 500, none left without an answer.
        var unclear = load.Failures.Where(o => o.Status != 503).ToList();
        Assert.True(unclear.Count == 0, $"{unclear.Count} requests of the load failed other than 503:\n" + string.Join('\n', unclear.Take(20))
            + "\nwhat the API nodes answered 500 for:\n" + string.Join('\n', ServerFaults().Take(12)));
        Assert.All(load.Outcomes, o => Assert.True(o.Took < TimeSpan.FromSeconds(35), $"{o.Operation} took {o.Took}"));
        foreach (var answer in answers)
        {
            output.WriteLine($"{answer.What}: {(int)answer.Status} in {answer.Took.TotalSeconds:0.0} s");
        }
        Assert.Contains(answers, a => a.Status == HttpStatusCode.ServiceUnavailable);
        Assert.All(answers, a => Assert.True(a.Took < TimeSpan.FromSeconds(35), $"{a.What} took {a.Took}"));
        // Every answer is the operation's success (create 201, upload 204) or a clear 503 in Glance's error
        // shape ({"message", "code": "503 Service Unavailable", "title"}).
        Assert.All(answers, a =>
        {
            var success = a.What == "create" ? HttpStatusCode.Created : HttpStatusCode.NoContent;
            Assert.True(a.Status == success || a.Status == HttpStatusCode.ServiceUnavailable, $"{a.What}: {(int)a.Status} {a.Body}");
            if (a.Status == HttpStatusCode.ServiceUnavailable)
            {
                var error = JsonNode.Parse(a.Body) as JsonObject;
                Assert.True(error is not null && error["message"]?.GetValue<string>() is { Length: > 0 }
                    && error["code"]?.GetValue<string>() == "503 Service Unavailable", $"{a.What}: 503 without a JSON error: {a.Body}");
            }
        });

        // Afterwards: the service works again, and every create attempted either happened whole (readable
        // and listed) or not at all (404 and not listed), an acknowledged one whole; the image the uploads
        // aimed at is queued or active with its bytes.
        await EventuallyAsync(async () => (await _nodes[0].CreateAsync("after-the-outage")).Status == HttpStatusCode.Created, TimeSpan.FromSeconds(30), "creates work again");
        await EventuallyAsync(async () => (await _nodes[1].GetTextAsync("/readyz")).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "ready again");
        // The catalog may still be catching up on an entry a create published late; it has a few seconds.
        var halfWritten = await _nodes[1].HalfWrittenAsync(attempted, TimeSpan.FromSeconds(15));
        Assert.True(halfWritten.Count == 0, "half written after the outage:\n" + string.Join('\n', halfWritten));
        await EventuallyAsync(async () => (await _nodes[0].GetAsync(existing!.Value)).Image?["status"]?.GetValue<string>() is "queued" or "active",
            TimeSpan.FromSeconds(LocalCluster.LeaseSeconds * 2 + 10), "the upload target is not left saving");
        var image = (await _nodes[0].GetAsync(existing!.Value)).Image!;
        if (image["status"]!.GetValue<string>() == "active")
        {
            Assert.Equal(image["checksum"]!.GetValue<string>(), (await _nodes[0].DownloadMd5Async(existing.Value)).Md5);
        }
        // Every write of the load that was acknowledged, before or after the outage, is there whole.
        await AssertNothingLostAsync(load);
    }

    // The cluster's log lines that name an image (its logs are gone with the test).
    private IEnumerable<string> SaidOf(Guid id) =>
        _cluster.LogLines(l => l.Contains(id.ToString("N"), StringComparison.Ordinal) || l.Contains(id.ToString(), StringComparison.Ordinal))
            .Select(l => l.Length > 400 ? l[..400] : l);

    // What an API node answered 500 for: ErrorMiddleware's line and the exception's (the lines after it are its stack).
    private IEnumerable<string> ServerFaults() =>
        _cluster.LogLines(l => l.Contains("Unhandled error for", StringComparison.Ordinal) || l.Contains("Exception: ", StringComparison.Ordinal))
            .Where(l => l.StartsWith("api-", StringComparison.Ordinal)).Take(30);

    private async Task AssertNothingLostAsync(MixedLoad load)
    {
        Assert.Equal(0, load.ChecksumMismatches);
        Assert.True(load.DownloadsCompared >= MinimumDownloadsCompared,
            $"only {load.DownloadsCompared} downloads compared (at least {MinimumDownloadsCompared} expected): the load hardly ran");
        Assert.True(load.Created.Count >= MinimumDownloadsCompared, $"only {load.Created.Count} images created");

        // No image stays in saving (or uploading: the load never stages) once the lease time has passed since
        // the load stopped. Asked of the list first: it reads the catalog shards and activates no image grain,
        // whereas a GET activates the grain, whose activation grants a lease of its own and so would undo an
        // upload that nobody (no lease check, no repair) was going to undo.
        while (true)
        {
            var statuses = await _nodes[0].ListAllStatusesAsync();
            List<string> hanging = [.. load.Created.Keys.Where(id => statuses.TryGetValue(id, out var s) && s is "saving" or "uploading").Select(id => $"{id}: {statuses[id]}")];
            var sinceStopped = load.Elapsed - load.StoppedAt;
            if (hanging.Count == 0 || sinceStopped > LeaseBound)
            {
                output.WriteLine($"list checked for uploads left hanging {sinceStopped.TotalSeconds:0.0} s after the load stopped: {hanging.Count}");
                if (hanging.Count > 0)
                {
                    Assert.Fail($"{sinceStopped.TotalSeconds:0.0} s after the load stopped (bound {LeaseBound.TotalSeconds} s), the list still shows:\n"
                        + string.Join('\n', hanging) + "\nwhat the nodes said of the first:\n" + string.Join('\n', SaidOf(Guid.Parse(hanging[0][..36])).Take(30)));
                }
                break;
            }
            await Task.Delay(250);
        }
        // And each image itself (a GET, which sees the grain's state rather than its catalog entry).
        await EventuallyAsync(async () =>
        {
            foreach (var id in load.Created.Keys)
            {
                if ((await _nodes[0].GetAsync(id)).Image?["status"]?.GetValue<string>() is "saving" or "uploading")
                {
                    return false;
                }
            }
            return true;
        }, LeaseBound, "no image left in saving");

        var listedByNode = new List<HashSet<Guid>>();
        foreach (var node in _nodes)
        {
            listedByNode.Add([.. await node.ListAllAsync()]);
        }
        foreach (var (id, acknowledged) in load.Created)
        {
            var (status, image, body) = await _nodes[1].GetAsync(id);
            Assert.True(status == HttpStatusCode.OK, $"acknowledged image {id}: {(int)status} {body}");
            List<(string Name, bool Acked)> names;
            lock (acknowledged)
            {
                names = [.. acknowledged.Names];
            }
            var lastAcked = names.FindLastIndex(n => n.Acked);
            if (lastAcked >= 0)
            {
                var allowed = names.Skip(lastAcked).Select(n => n.Name).ToList();
                Assert.Contains(image!["name"]!.GetValue<string>(), allowed);
            }
            var imageStatus = image!["status"]!.GetValue<string>();
            if (acknowledged.UploadedMd5 is { } md5)
            {
                Assert.Equal("active", imageStatus);
                Assert.Equal(md5, image["checksum"]!.GetValue<string>());
                Assert.Equal(md5, (await _nodes[0].DownloadMd5Async(id)).Md5);
            }
            else if (imageStatus == "active")
            {
                // An upload whose answer was lost may have happened: then with exactly its bytes.
                Assert.Equal(acknowledged.UnacknowledgedMd5, image["checksum"]?.GetValue<string>());
            }
            else
            {
                Assert.Equal("queued", imageStatus);
            }
            if (listedByNode.Any(listed => !listed.Contains(id)))
            {
                // What the nodes said of it (the cluster's logs are gone with the test).
                var said = SaidOf(id).Take(40);
                Assert.Fail($"acknowledged image {id} is not listed by every node (listed by: "
                    + string.Join(", ", listedByNode.Select((listed, k) => $"api-{k + 1} {listed.Contains(id)}")) + ")\n" + string.Join('\n', said));
            }
        }
        foreach (var id in listedByNode[0])
        {
            Assert.Equal(HttpStatusCode.OK, (await _nodes[0].GetAsync(id)).Status);
        }
    }

    /// <summary>Every request without a 2xx answer ended after the kill and at most <paramref name="window"/> after it.</summary>
    private static void AssertFailuresWithin(MixedLoad load, TimeSpan killedAt, TimeSpan window, LocalCluster cluster)
    {
        var outside = load.Failures.Where(f => f.At < killedAt || f.At > killedAt + window).ToList();
        Assert.True(outside.Count == 0, $"{outside.Count} requests failed outside {killedAt.TotalSeconds:0.0} s (the kill) .. {(killedAt + window).TotalSeconds:0.0} s:\n"
            + string.Join('\n', outside.Take(50)) + "\n" + string.Join('\n', cluster.ApiNodes.Keys.Select(k => cluster.Log($"api-{k}"))));
    }

    private void Report(MixedLoad load)
    {
        var byOperation = load.Outcomes.GroupBy(o => (o.Operation, o.Status)).OrderBy(g => g.Key.Operation).ThenBy(g => g.Key.Status);
        output.WriteLine($"{load.Outcomes.Count} requests, {load.Created.Count} images created, {load.Failures.Count} failed, {load.ChecksumMismatches} checksum mismatches");
        foreach (var group in byOperation)
        {
            output.WriteLine($"  {group.Key.Operation} {group.Key.Status}: {group.Count()}");
        }
        foreach (var slow in load.Outcomes.OrderByDescending(o => o.Took).Take(5))
        {
            output.WriteLine($"  slow: {slow.Operation} {slow.Status} from {slow.Started.TotalSeconds:0.0} s to {slow.At.TotalSeconds:0.0} s ({slow.Took.TotalSeconds:0.0} s)");
        }
        output.WriteLine("  answers per second: " + string.Join(' ', load.Outcomes.GroupBy(o => (int)o.At.TotalSeconds).OrderBy(g => g.Key)
            .Select(g => $"{g.Key}:{g.Count(o => o.Succeeded)}" + (g.Any(o => !o.Succeeded) ? $"/{g.Count(o => !o.Succeeded)}f" : ""))));
        if (load.Failures.Count > 0)
        {
            output.WriteLine($"  failures from {load.Failures.Min(f => f.At).TotalSeconds:0.0} s to {load.Failures.Max(f => f.At).TotalSeconds:0.0} s; first: {load.Failures[0]}");
        }
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < timeout, $"not within {timeout.TotalSeconds} s: {what}");
            await Task.Delay(250);
        }
    }

    private static byte[] RandomNumberGeneratorBytes(int count) => System.Security.Cryptography.RandomNumberGenerator.GetBytes(count);

    /// <summary>An upload body that trickles (64 KiB every 100 ms) until cancelled: an upload still in flight when its node dies.</summary>
    private sealed class SlowStream(CancellationToken cancel) : UploadBodyStream
    {
        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            await Task.Delay(100, CancellationTokenSource.CreateLinkedTokenSource(cancel, cancellationToken).Token);
            var n = Math.Min(count, 64 * 1024);
            Array.Fill(buffer, (byte)7, offset, n);
            return n;
        }
    }
}
