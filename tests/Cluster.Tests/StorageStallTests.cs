using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Glance.Cluster.Tests.Support;

namespace Glance.Cluster.Tests;

/// <summary>
/// A storage service that stalls rather than refuses (<c>cluster.sh pause azurite</c>: SIGSTOP, its
/// connections open and silent), the nastier outage: every request still answers within a bound
/// (the Orleans client's 7 s response timeout, and one retry for a GET), with its success or a JSON
/// 503; reads served from memory (an active image, a catalog page) keep working; afterwards
/// every image a client tried to create is whole or absent. A cluster of its own (2 silos, 1 API
/// node): a stalled membership table must not disturb the shared one.
/// </summary>
public sealed class StorageStallTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    // A create's grain call times out after 7 s; a GET that fails is tried once more after 1 s.
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(20);
    private readonly LocalCluster _cluster = new();
    private ImagesHttp? _api;

    private ImagesHttp Api => _api!;

    public async Task InitializeAsync()
    {
        await _cluster.UpAsync(silos: 2, apis: 1);
        _api = new ImagesHttp(_cluster.ApiNodes[1]);
    }

    public async Task DisposeAsync()
    {
        _api?.Dispose();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task While_the_storage_service_stalls_every_request_answers_in_bounded_time_and_nothing_is_half_written()
    {
        var (created, existing, body) = await Api.CreateAsync("before-the-stall");
        Assert.True(created == HttpStatusCode.Created, body);
        Assert.Equal(HttpStatusCode.NoContent, await Api.UploadAsync(existing!.Value, new byte[4096]));
        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync(existing.Value)).Status);
        // Every catalog shard active (a shard loads its entries from the table when it activates).
        Assert.Equal(HttpStatusCode.OK, (await Api.ListPageAsync()).Status);

        var attempted = new List<(Guid Id, HttpStatusCode Status)>();
        var answers = new List<(string What, HttpStatusCode Status, string Body, TimeSpan Took)>();
        await _cluster.NodeAsync("pause", "azurite");
        try
        {
            var stall = Stopwatch.StartNew();
            while (stall.Elapsed < TimeSpan.FromSeconds(12))
            {
                var took = Stopwatch.StartNew();
                var id = Guid.NewGuid();
                var (status, createBody) = await Api.CreateWithIdAsync(id, "during-the-stall");
                answers.Add(("create", status, createBody, took.Elapsed));
                attempted.Add((id, status));
                took.Restart();
                var (getStatus, _, getBody) = await Api.GetAsync(existing.Value);
                answers.Add(("get", getStatus, getBody, took.Elapsed));
                took.Restart();
                var (listStatus, listBody) = await Api.ListPageAsync();
                answers.Add(("list", listStatus, listBody, took.Elapsed));
            }
        }
        finally
        {
            await _cluster.NodeAsync("resume", "azurite");
        }

        var report = string.Join('\n', answers.Select(a => $"{a.What} {(int)a.Status} in {a.Took.TotalSeconds:0.0} s"));
        output.WriteLine("answers while Azurite was stopped (SIGSTOP):\n" + report);
        Assert.All(answers, a => Assert.True(a.Took < AnswerBound, $"{a.What} took {a.Took.TotalSeconds:0.0} s (bound {AnswerBound.TotalSeconds} s):\n{report}"));
        Assert.Contains(answers, a => a.What == "create" && a.Status == HttpStatusCode.ServiceUnavailable);
        Assert.All(answers, a =>
        {
            var success = a.What == "create" ? HttpStatusCode.Created : HttpStatusCode.OK;
            Assert.True(a.Status == success || a.Status == HttpStatusCode.ServiceUnavailable, $"{a.What}: {(int)a.Status} {a.Body}");
            if (a.Status == HttpStatusCode.ServiceUnavailable)
            {
                Assert.True(JsonNode.Parse(a.Body) is JsonObject error && error["message"]?.GetValue<string>() is { Length: > 0 }
                    && error["code"]?.GetValue<string>() == "503 Service Unavailable", $"{a.What}: 503 without a JSON error: {a.Body}");
            }
        });
        // What is in memory still answers: the active image and the catalog's pages.
        Assert.Contains(answers, a => a.What == "get" && a.Status == HttpStatusCode.OK);
        Assert.Contains(answers, a => a.What == "list" && a.Status == HttpStatusCode.OK);

        // Afterwards it works again, and every create attempted is whole (readable and listed) or
        // absent: one whose write was held by the stall may finish after its client heard 503.
        var working = Stopwatch.StartNew();
        while ((await Api.CreateAsync("after-the-stall")).Status != HttpStatusCode.Created)
        {
            Assert.True(working.Elapsed < TimeSpan.FromSeconds(60), "creates do not work again within 60 s of the resume");
            await Task.Delay(500);
        }
        var halfWritten = await Api.HalfWrittenAsync(attempted, TimeSpan.FromSeconds(30));
        output.WriteLine($"creates worked again {working.Elapsed.TotalSeconds:0.0} s after the resume; {attempted.Count(a => a.Status == HttpStatusCode.Created)} of {attempted.Count} creates answered 201");
        Assert.True(halfWritten.Count == 0, "half written after the stall:\n" + string.Join('\n', halfWritten));
        Assert.Equal(HttpStatusCode.OK, (await Api.DownloadMd5Async(existing.Value)).Status);
    }
}
