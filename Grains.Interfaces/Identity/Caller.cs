namespace Glance.Grains.Identity;

/// <summary>
/// Who is making a call: the project (tenant), the user and the roles an authenticating
/// proxy (Keystone's middleware) vouched for. Every grain method takes one, so the grains
/// apply the same visibility and ownership rules to HTTP and direct grain callers.
/// </summary>
/// <param name="ProjectId">The caller's project; null for an anonymous or system caller.</param>
/// <param name="UserId">The caller's user id, recorded on tasks and audit trails.</param>
/// <param name="Roles">Role names, lower-cased (Glance lower-cases them too).</param>
[GenerateSerializer, Immutable, Alias("glance.caller")]
public sealed record Caller(
    [property: Id(0)] string? ProjectId,
    [property: Id(1)] string? UserId,
    [property: Id(2)] ImmutableArray<string> Roles)
{
    /// <summary>The role that Glance's default policy treats as administrator.</summary>
    public const string AdminRole = "admin";

    /// <summary>True when the caller holds the admin role.</summary>
    public bool IsAdmin => Roles.Contains(AdminRole);

    /// <summary>A member of <paramref name="projectId"/> without the admin role.</summary>
    public static Caller Member(string projectId, string? userId = null) =>
        new(projectId, userId, ["member"]);

    /// <summary>An administrator acting from <paramref name="projectId"/>.</summary>
    public static Caller Admin(string? projectId, string? userId = null) =>
        new(projectId, userId, [AdminRole, "member"]);
}
