using System.Diagnostics;
using Glance.Grains.Health;
using Glance.Grains.Storage;

namespace Glance.Api.Health;

/// <summary>One readiness check's result.</summary>
public sealed record ReadinessOutcome(bool Ok, string? Error, long Milliseconds);

/// <summary>
/// The checks behind <c>/readyz</c>: a stateless grain answers, a probe grain's state write, a
/// write and delete of a few bytes in the image data store; 5 s each. <c>/readyz</c> needs no
/// identity, so concurrent and repeated probes share one run for a second: however often it is
/// asked, it costs the storage at most one write of each kind per second.
/// </summary>
public sealed class ReadinessChecks(IGrainFactory grains, IImageDataStore store)
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Reuse = TimeSpan.FromSeconds(1);
    private static readonly string ProbeKey = $"{Environment.MachineName}-{Environment.ProcessId}";
    private readonly Lock _gate = new();
    private readonly Stopwatch _sinceStart = new();
    private Task<IReadOnlyDictionary<string, ReadinessOutcome>>? _current;

    /// <summary>The checks' results, from a run started less than a second ago or a new one.</summary>
    public Task<IReadOnlyDictionary<string, ReadinessOutcome>> RunAsync()
    {
        lock (_gate)
        {
            if (_current is { } current && (!current.IsCompleted || _sinceStart.Elapsed < Reuse))
            {
                return current;
            }
            _sinceStart.Restart();
            return _current = RunChecksAsync();
        }
    }

    private async Task<IReadOnlyDictionary<string, ReadinessOutcome>> RunChecksAsync()
    {
        var data = CheckAsync(async () =>
        {
            var key = $"readyz-{Guid.NewGuid():N}";
            using var bytes = new MemoryStream([0x72, 0x65, 0x61, 0x64, 0x79]);
            await store.WriteAsync(key, bytes, CancellationToken.None);
            await store.DeleteAsync(key, CancellationToken.None);
        });
        var cluster = await CheckAsync(grains.GetGrain<IClusterPingGrain>(0).PingAsync);
        // Storage is only meaningful once a grain answers (the probe's activation reads its state).
        var storage = cluster.Ok
            ? await CheckAsync(grains.GetGrain<IReadinessProbeGrain>(ProbeKey).WriteAsync)
            : new ReadinessOutcome(false, "not checked: the cluster does not answer", 0);
        return new Dictionary<string, ReadinessOutcome>
        {
            ["cluster"] = cluster,
            ["grain-storage"] = storage,
            ["image-data"] = await data,
        };
    }

    private static async Task<ReadinessOutcome> CheckAsync(Func<Task> check)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await check().WaitAsync(CheckTimeout);
            return new ReadinessOutcome(true, null, clock.ElapsedMilliseconds);
        }
        catch (Exception e)
        {
            // The kind of failure only: messages can carry connection strings or paths.
            return new ReadinessOutcome(false, e is TimeoutException ? $"no answer within {CheckTimeout.TotalSeconds:0} s" : e.GetType().Name, clock.ElapsedMilliseconds);
        }
    }
}
