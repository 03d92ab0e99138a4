namespace Glance.Grains.Extensions.AuditEvents;

/// <summary>Reads the audit log for admins (<c>GET /v2/events</c>); any silo answers.</summary>
[Alias("glance.IAuditEventsGrain"), Hosting.ServiceNodesOnly]
public interface IAuditEventsGrain : IGrainWithIntegerKey
{
    /// <summary>A page of events, newest first; forbidden unless the caller is an admin.</summary>
    [ReadOnly, Alias("list")]
    Task<ImmutableArray<AuditEvent>> ListAsync(Caller caller, AuditQuery query);
}

/// <summary>The reader behind <see cref="IAuditEventsGrain"/>: stateless, so every silo runs its own.</summary>
[StatelessWorker]
internal sealed class AuditEventsGrain(IAuditLog log) : Grain, IAuditEventsGrain
{
    public Task<ImmutableArray<AuditEvent>> ListAsync(Caller caller, AuditQuery query) =>
        caller.IsAdmin
            ? log.QueryAsync(query with { Limit = Math.Clamp(query.Limit, 1, AuditQuery.MaxLimit) })
            : throw GlanceException.Forbidden("Only admins may read audit events.");
}
