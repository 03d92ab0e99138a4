using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;

namespace Glance.Cluster.Tests.Support;

/// <summary>
/// A bounded mixed load: workers spread over the API nodes create an image, rename it, upload
/// 64 KiB to it, download and check it, and list, over and over for a fixed time. Everything the
/// service acknowledged is recorded, so that a test can check afterwards that none of it was lost.
/// </summary>
public sealed class MixedLoad
{
    /// <summary>One request: when it ended (since the load started), what, its status (0 = no answer), how long it took, and the API node it went to.</summary>
    public sealed record Outcome(TimeSpan At, string Operation, int Status, string? Error, TimeSpan Took, Uri Node)
    {
        /// <summary>When it started (since the load started).</summary>
        public TimeSpan Started => At - Took;

        /// <summary>A 2xx answer.</summary>
        public bool Succeeded => Status is >= 200 and < 300;
    }

    /// <summary>What the service acknowledged for one image.</summary>
    public sealed class Acknowledged
    {
        /// <summary>Names sent, in order, with whether each was acknowledged (204/200).</summary>
        public List<(string Name, bool Acked)> Names { get; } = [];

        /// <summary>The md5 of the bytes an acknowledged upload sent; null when none was acknowledged.</summary>
        public string? UploadedMd5 { get; set; }

        /// <summary>The md5 of the bytes of an upload that got no acknowledgement (it may still have happened).</summary>
        public string? UnacknowledgedMd5 { get; set; }
    }

    private readonly Stopwatch _clock = new();

    /// <summary>Every request made.</summary>
    public ConcurrentQueue<Outcome> Outcomes { get; } = new();

    /// <summary>Images whose create was acknowledged (201), with what else was acknowledged for them.</summary>
    public ConcurrentDictionary<Guid, Acknowledged> Created { get; } = new();

    /// <summary>Downloads whose bytes differed from the acknowledged upload.</summary>
    public int ChecksumMismatches;

    /// <summary>Downloads that answered 200, whose bytes were compared with the acknowledged upload.</summary>
    public int DownloadsCompared;

    /// <summary>When the last worker stopped (since the load started); the fault may still be running then.</summary>
    public TimeSpan StoppedAt { get; private set; }

    /// <summary>Runs <paramref name="workersPerNode"/> workers on each node for <paramref name="duration"/>; <paramref name="during"/> runs meanwhile (the fault).</summary>
    public async Task RunAsync(IReadOnlyList<ImagesHttp> nodes, int workersPerNode, TimeSpan duration, Func<Task>? during = null)
    {
        _clock.Start();
        using var stop = new CancellationTokenSource(duration);
        var workers = Task.WhenAll(nodes.SelectMany(node => Enumerable.Range(0, workersPerNode).Select(w => WorkAsync(node, w, stop.Token))));
        var fault = during?.Invoke() ?? Task.CompletedTask;
        try
        {
            await workers;
            StoppedAt = _clock.Elapsed;
        }
        finally
        {
            await fault;
        }
    }

    /// <summary>Time since the load started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>
    /// Requests that got no 2xx answer. Every request of this load should get one: each create is a
    /// valid image; each rename, upload and download goes to an image whose create was acknowledged
    /// (201), uploaded once, downloaded only after its upload was acknowledged (204); each list is
    /// a plain page. So a 4xx here is as much a failure as a 5xx or no answer.
    /// </summary>
    public IReadOnlyList<Outcome> Failures => [.. Outcomes.Where(o => !o.Succeeded)];

    private async Task WorkAsync(ImagesHttp node, int worker, CancellationToken stop)
    {
        var random = new Random(worker * 7919 + node.BaseAddress.Port);
        while (!stop.IsCancellationRequested)
        {
            var created = await TryAsync(node, "create", async () => { var r = await node.CreateAsync($"load-{worker}"); return ((int)r.Status, r.Id); });
            if (created is not { } id)
            {
                continue;
            }
            var acknowledged = Created.GetOrAdd(id, _ => new Acknowledged());

            var name = $"renamed-{Guid.NewGuid():N}";
            var renamed = await TryAsync<bool>(node, "rename", async () => ((int)await node.RenameAsync(id, name), (bool?)true));
            lock (acknowledged)
            {
                acknowledged.Names.Add((name, renamed == true));
            }

            var data = new byte[64 * 1024];
            random.NextBytes(data);
            var md5 = Convert.ToHexStringLower(MD5.HashData(data));
            var uploaded = await TryAsync<bool>(node, "upload", async () => ((int)await node.UploadAsync(id, data), (bool?)true));
            if (uploaded == true)
            {
                acknowledged.UploadedMd5 = md5;
                await TryAsync<bool>(node, "download", async () =>
                {
                    var (status, got) = await node.DownloadMd5Async(id);
                    if (status == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref DownloadsCompared);
                        if (got != md5)
                        {
                            Interlocked.Increment(ref ChecksumMismatches);
                        }
                    }
                    return ((int)status, (bool?)true);
                });
            }
            else
            {
                acknowledged.UnacknowledgedMd5 = md5;
            }
            await TryAsync<bool>(node, "list", async () => ((int)(await node.ListPageAsync()).Status, (bool?)true));
        }
    }

    private async Task<T?> TryAsync<T>(ImagesHttp node, string operation, Func<Task<(int Status, T? Value)>> call) where T : struct
    {
        var started = _clock.Elapsed;
        try
        {
            var (status, value) = await call();
            var at = _clock.Elapsed;
            Outcomes.Enqueue(new Outcome(at, operation, status, null, at - started, node.BaseAddress));
            return status is >= 200 and < 300 ? value : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            var at = _clock.Elapsed;
            Outcomes.Enqueue(new Outcome(at, operation, 0, e.GetType().Name + ": " + e.Message, at - started, node.BaseAddress));
            // No answer (a node that is gone refuses at once): a client waits a little before it tries again.
            await Task.Delay(100, CancellationToken.None);
            return null;
        }
    }
}
