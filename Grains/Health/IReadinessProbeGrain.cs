namespace Glance.Grains.Health;

/// <summary>
/// What <c>/readyz</c> asks first: that a grain answers at all (the silo, or the cluster through a
/// gateway). Stateless, so its answer does not depend on storage. Internal: not part of the public API.
/// </summary>
[Alias("glance.IClusterPingGrain"), Hosting.ServiceNodesOnly]
public interface IClusterPingGrain : IGrainWithIntegerKey
{
    /// <summary>Answers at once.</summary>
    [Alias("ping"), ReadOnly]
    Task PingAsync();
}

/// <inheritdoc cref="IClusterPingGrain" />
[GrainType("glance.cluster-ping"), StatelessWorker]
public sealed class ClusterPingGrain : Grain, IClusterPingGrain
{
    /// <inheritdoc />
    public Task PingAsync() => Task.CompletedTask;
}

/// <summary>
/// What <c>/readyz</c> asks next: that grain storage takes a write. One per API node (keyed by
/// node), so a probe activates wherever the cluster places it. Internal: not part of the public API.
/// </summary>
[Alias("glance.IReadinessProbeGrain"), Hosting.ServiceNodesOnly]
public interface IReadinessProbeGrain : IGrainWithStringKey
{
    /// <summary>Writes this grain's state (a timestamp) through the service's grain storage.</summary>
    [Alias("write")]
    Task WriteAsync();
}

/// <summary>The probe's state: when it last wrote.</summary>
public sealed class ReadinessProbeState
{
    /// <summary>When the last probe wrote.</summary>
    public DateTimeOffset WrittenAt { get; set; }
}

/// <inheritdoc cref="IReadinessProbeGrain" />
[GrainType("glance.readiness-probe")]
public sealed class ReadinessProbeGrain(
    [PersistentState("probe", Storage.GlanceStorage.ProviderName)] IPersistentState<ReadinessProbeState> state,
    TimeProvider clock) : Grain, IReadinessProbeGrain
{
    /// <inheritdoc />
    public Task WriteAsync()
    {
        state.State.WrittenAt = clock.GetUtcNow();
        return state.WriteStateAsync();
    }
}
