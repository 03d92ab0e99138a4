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
/// every image a client tried to create is whole or absent. Bytes too: an upload whose blocks meet
/// the stall and a download that starts in it end within the Azure clients' bound
/// (<c>AzureCluster.Bounded</c>) with a JSON 503 while it lasts, the image
/// afterwards queued (never left saving), and a retry works. A cluster of its own (2 silos, 1 API
/// node): a stalled membership table must not disturb the shared one.
/// </summary>
public sealed class StorageStallTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    // A create's grain call times out after 7 s; a GET that fails is tried once more after 1 s.
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(20);

    // A blob request gives up after its tries (AzureCluster.Bounded: three, a 10 s network timeout
    // each; a lone read measured 31 s on this machine). An upload then also aborts through its
    // grain, whose state write meets the stall too (measured: 503 after 43 s).
    private static readonly TimeSpan DataAnswerBound = TimeSpan.FromSeconds(90);

    // A download gets one round of those tries, not two: the API does not try again a read the
    // storage client already tried (measured: 503 after 63 s while it did).
    private static readonly TimeSpan DownloadAnswerBound = TimeSpan.FromSeconds(45);
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
        (created, var waiting, body) = await Api.CreateAsync("uploaded-through-the-stall");
        Assert.True(created == HttpStatusCode.Created, body);

        // An upload of 12 MiB whose first 9 MiB (a whole block) go before the stall and the rest into it.
        var payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(12 << 20);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var data = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = _cluster.ApiNodes[1], Timeout = DataAnswerBound * 2 };
        var uploadTook = new Stopwatch();
        var upload = SendDataAsync(data, HttpMethod.Put, $"/v2/images/{waiting}/file", new GatedStream(payload, 9 << 20, gate.Task), uploadTook);
        await EventuallyAsync(async () => (await Api.GetAsync(waiting!.Value)).Image?["status"]?.GetValue<string>() == "saving", "the upload starts");

        var attempted = new List<(Guid Id, HttpStatusCode Status)>();
        var answers = new List<(string What, HttpStatusCode Status, string Body, TimeSpan Took)>();
        await _cluster.NodeAsync("pause", "azurite");
        uploadTook.Start();
        gate.SetResult();
        var downloadTook = Stopwatch.StartNew();
        var download = SendDataAsync(data, HttpMethod.Get, $"/v2/images/{existing}/file", null, downloadTook);
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
            // The stall outlasts the bytes' requests: they must give up on their own, not succeed late.
            await Task.WhenAny(Task.WhenAll(upload, download), Task.Delay(DataAnswerBound - stall.Elapsed));
        }
        finally
        {
            await _cluster.NodeAsync("resume", "azurite");
        }

        var (uploadStatus, uploadBody, _) = await upload;
        var (downloadStatus, downloadBody, downloadMd5) = await download;
        answers.Add(("upload", uploadStatus, uploadBody, uploadTook.Elapsed));
        answers.Add(("download", downloadStatus, downloadBody, downloadTook.Elapsed));
        var report = string.Join('\n', answers.Select(a => $"{a.What} {(int)a.Status} in {a.Took.TotalSeconds:0.0} s"));
        output.WriteLine("answers while Azurite was stopped (SIGSTOP):\n" + report);
        output.WriteLine(string.Join('\n', _cluster.LogLines(l => l.Contains("tried once more", StringComparison.Ordinal) || l.Contains("answered 503", StringComparison.Ordinal))));
        Assert.All(answers, a =>
        {
            var bound = a.What switch { "upload" => DataAnswerBound, "download" => DownloadAnswerBound, _ => AnswerBound };
            Assert.True(a.Took < bound, $"{a.What} took {a.Took.TotalSeconds:0.0} s (bound {bound.TotalSeconds} s):\n{report}");
        });
        Assert.Contains(answers, a => a.What == "create" && a.Status == HttpStatusCode.ServiceUnavailable);
        Assert.All(answers, a =>
        {
            var success = a.What switch { "create" => HttpStatusCode.Created, "upload" => HttpStatusCode.NoContent, _ => HttpStatusCode.OK };
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
        if (downloadStatus == HttpStatusCode.OK)
        {
            Assert.Equal((await Api.DownloadMd5Async(existing.Value)).Md5, downloadMd5);
        }

        // Both gave up while the storage still stalled.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, uploadStatus);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, downloadStatus);
        // The upload's image is queued again (its bytes gone) soon after the storage answers; a retry works.
        var sent = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(payload));
        string? settled = null;
        await EventuallyAsync(async () => (settled = (await Api.GetAsync(waiting!.Value)).Image?["status"]?.GetValue<string>()) is "active" or "queued",
            $"the uploaded image leaves saving (status {settled})");
        output.WriteLine($"upload answered {(int)uploadStatus} after {uploadTook.Elapsed.TotalSeconds:0.0} s of the stall; image {settled}; download answered {(int)downloadStatus} in {downloadTook.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(uploadStatus == HttpStatusCode.NoContent ? "active" : "queued", settled);
        if (settled == "queued")
        {
            Assert.Equal(HttpStatusCode.NoContent, await Api.UploadAsync(waiting!.Value, payload));
        }
        Assert.Equal(sent, (await Api.DownloadMd5Async(waiting!.Value)).Md5);
    }

    /// <summary>Sends a data request; its status, its body when it is not the image's bytes, and the md5 of the bytes when it is.</summary>
    private static async Task<(HttpStatusCode Status, string Body, string? Md5)> SendDataAsync(HttpClient http, HttpMethod method, string path, Stream? body, Stopwatch took)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StreamContent(body);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        }
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        string? md5 = null;
        var text = "";
        if (response.StatusCode == HttpStatusCode.OK && method == HttpMethod.Get)
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            md5 = Convert.ToHexStringLower(await System.Security.Cryptography.MD5.HashDataAsync(stream));
        }
        else
        {
            text = await response.Content.ReadAsStringAsync();
        }
        took.Stop();
        return (response.StatusCode, text, md5);
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"not within 30 s: {what}");
            await Task.Delay(250);
        }
    }

    /// <summary>An upload body: the bytes up to <paramref name="held"/> at once, the rest once <paramref name="gate"/> opens.</summary>
    private sealed class GatedStream(byte[] payload, int held, Task gate) : UploadBodyStream
    {
        private int _position;

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            if (_position >= held)
            {
                await gate.WaitAsync(cancellationToken);
            }
            var end = _position < held ? held : payload.Length;
            var n = Math.Min(count, end - _position);
            payload.AsSpan(_position, n).CopyTo(buffer.AsSpan(offset, n));
            _position += n;
            return n;
        }
    }
}
