namespace Glance.Grains.Tasks;

/// <summary>
/// The tasks API's settings, bound from <c>Glance:Tasks</c>. Glance Zed guards every call of
/// <c>/v2/tasks</c> with one policy, <c>tasks_api_access</c>, whose default is <c>role:admin</c>:
/// so does this service, unless <see cref="AccessRoles"/> says otherwise.
/// </summary>
public sealed class TaskOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Tasks";

    /// <summary>Names every caller in <see cref="AccessRoles"/>.</summary>
    public const string AnyCaller = "*";

    /// <summary>
    /// Roles that pass <c>tasks_api_access</c> (default: admin, as Zed); <c>*</c> lets every caller
    /// use the tasks API, as the policy <c>""</c> does in Glance. A caller still sees only its
    /// project's tasks unless it is an admin.
    /// </summary>
    public string[]? AccessRoles { get; set; }

    /// <summary>The roles in effect, lower-cased (roles are compared lower-cased, as Glance does).</summary>
    public ImmutableArray<string> Roles => AccessRoles is { } roles
        ? [.. roles.Where(r => !string.IsNullOrWhiteSpace(r)).Select(r => r.Trim().ToLowerInvariant()).Distinct()]
        : [Caller.AdminRole];

    /// <summary>Why the options cannot be used, or null when they can.</summary>
    public string? Problem() =>
        Roles.IsEmpty ? $"{Section}:AccessRoles names no role (use {AnyCaller} to let every caller use the tasks API)." : null;
}

/// <summary>The tasks API's rules: who may use it, and whose tasks a caller sees.</summary>
public static class TaskAccess
{
    /// <summary>Glance's answer to a caller the <c>tasks_api_access</c> policy refuses.</summary>
    public const string Refusal = "You are not authorized to complete tasks_api_access action.";

    /// <summary>Throws 403 unless the caller passes <c>tasks_api_access</c>.</summary>
    public static void Demand(TaskOptions options, Caller caller)
    {
        var roles = options.Roles;
        if (!roles.Contains(TaskOptions.AnyCaller) && !caller.Roles.Any(roles.Contains))
        {
            throw GlanceException.Forbidden(Refusal);
        }
    }

    /// <summary>Glance's <c>_is_task_visible</c>: admins see every task, others their project's (and ownerless ones).</summary>
    public static bool CanSee(Caller caller, ImageTask task) =>
        caller.IsAdmin || task.Owner is null || task.Owner == caller.ProjectId;

    /// <summary>Glance's list filter: admins list every task, others their project's only.</summary>
    public static bool IsListed(Caller caller, ImageTask task) =>
        caller.IsAdmin || (task.Owner is not null && task.Owner == caller.ProjectId);
}
