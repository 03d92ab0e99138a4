using System.Globalization;

namespace Glance.Grains.Extensions.AuditEvents;

/// <summary>
/// One mutation, as the audit log keeps it: who (project, user, roles), what (operation, the
/// image, the names of the fields it touched — never their values, never bytes), the outcome and
/// the request id. <see cref="Id"/> sorts newest first, so it is also the listing's marker.
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.audit-event")]
public sealed record AuditEvent(
    [property: Id(0)] string Id,
    [property: Id(1)] DateTimeOffset Time,
    [property: Id(2)] string? Project,
    [property: Id(3)] string? User,
    [property: Id(4)] ImmutableArray<string> Roles,
    [property: Id(5)] string Operation,
    [property: Id(6)] string? Target,
    [property: Id(7)] ImmutableArray<string> Fields,
    [property: Id(8)] string Outcome,
    [property: Id(9)] int Status,
    [property: Id(10)] string? RequestId)
{
    /// <summary>An id for an event at <paramref name="time"/>: later events get smaller ids (newest first), ties broken at random.</summary>
    public static string NewId(DateTimeOffset time) =>
        (DateTimeOffset.MaxValue.UtcTicks - time.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + Guid.NewGuid().ToString("N")[..12];
}

/// <summary>What an admin asks of the log: filters (all optional) and a page after <see cref="Marker"/>.</summary>
[GenerateSerializer, Immutable, Alias("glance.audit-query")]
public sealed record AuditQuery(
    [property: Id(0)] string? Target = null,
    [property: Id(1)] string? Project = null,
    [property: Id(2)] string? Operation = null,
    [property: Id(3)] DateTimeOffset? Since = null,
    [property: Id(4)] DateTimeOffset? Until = null,
    [property: Id(5)] string? Marker = null,
    [property: Id(6)] int Limit = AuditQuery.DefaultLimit)
{
    /// <summary>Events per page unless asked.</summary>
    public const int DefaultLimit = 25;

    /// <summary>Most events per page.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Whether <paramref name="e"/> passes the filters (the marker aside).</summary>
    public bool Matches(AuditEvent e) =>
        (Target is null || e.Target == Target) && (Project is null || e.Project == Project)
        && (Operation is null || e.Operation == Operation)
        && (Since is null || e.Time >= Since) && (Until is null || e.Time <= Until);
}

/// <summary>Where the events go: append-only, durable, read newest first.</summary>
public interface IAuditLog
{
    /// <summary>Appends one event; returns once it is durable.</summary>
    Task AppendAsync(AuditEvent auditEvent);

    /// <summary>Up to <c>query.Limit</c> matching events after the marker, newest first.</summary>
    Task<ImmutableArray<AuditEvent>> QueryAsync(AuditQuery query);
}
