namespace Glance.Grains.Catalog;

/// <summary>
/// The timer that sends a grain's catalog or index entry again after a failed update, while the
/// grain's own write stands (images, tasks, templates). A timer ends with its activation, and a
/// silo's graceful stop ends every activation on it, so <see cref="LastChanceAsync"/> sends a
/// pending entry once more as the activation ends; after that only a repair pass would.
/// </summary>
public sealed class PublishRetry
{
    private IGrainTimer? _timer;

    /// <summary>Starts retrying <paramref name="publish"/> (1 s, then every 5 s), unless already retrying.</summary>
    public void Start(IGrainBase grain, Func<Task> publish) =>
        _timer ??= grain.RegisterGrainTimer(_ => publish(),
            new GrainTimerCreationOptions(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)) { KeepAlive = true });

    /// <summary>The entry reached its shard: no more retries.</summary>
    public void Stop()
    {
        _timer?.Dispose();
        _timer = null;
    }

    /// <summary>From the grain's <c>OnDeactivateAsync</c>: when an entry is still behind, <paramref name="publishOnce"/> (which must not retry).</summary>
    public async Task LastChanceAsync(Func<Task> publishOnce)
    {
        if (_timer is null)
        {
            return;
        }
        Stop();
        await publishOnce();
    }
}
