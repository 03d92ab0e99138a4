using System.Collections;
using System.Diagnostics;

namespace Glance.Api.Telemetry;

/// <summary>
/// What every log line and span of a request says about it: the request id and, once identity has
/// run, the project and user (keys OpenStackRequestId, Project, User: ASP.NET Core's own scope already has a RequestId, its connection-based trace identifier). One log scope per request, opened first (before the error
/// middleware, so its lines carry the scope too) and filled in as the request id and the caller are
/// known. Never a token: identity hands over the caller it established, nothing it was sent.
/// </summary>
public sealed class RequestTelemetry : IReadOnlyList<KeyValuePair<string, object?>>
{
    /// <summary>The span tag and baggage key of the OpenStack request id.</summary>
    public const string RequestIdTag = "openstack.request_id";

    /// <summary>The OpenStack request id, once known.</summary>
    public string? RequestId { get; private set; }

    /// <summary>The caller's project, once identity has run (null for unauthenticated paths).</summary>
    public string? Project { get; private set; }

    /// <summary>The caller's user id, once identity has run.</summary>
    public string? User { get; private set; }

    /// <summary>The request id is known: into the log scope, and onto the request's span (a tag, and
    /// baggage, which Orleans' activity propagation carries into the grain calls).</summary>
    public static void RequestIdentified(HttpContext context, string requestId)
    {
        context.Features.Get<RequestTelemetry>()?.RequestId = requestId;
        if (Activity.Current is { } activity)
        {
            activity.SetTag(RequestIdTag, requestId);
            activity.SetBaggage(RequestIdTag, requestId);
        }
    }

    /// <summary>The caller is known: its project and user into the log scope and onto the span.</summary>
    public static void CallerIdentified(HttpContext context, Caller caller)
    {
        if (context.Features.Get<RequestTelemetry>() is { } scope)
        {
            (scope.Project, scope.User) = (caller.ProjectId, caller.UserId);
        }
        Activity.Current?.SetTag("openstack.project_id", caller.ProjectId);
    }

    /// <summary>Opens the request's log scope around the rest of the pipeline.</summary>
    public static async Task ScopeAsync(HttpContext context, RequestDelegate next, ILogger logger)
    {
        var scope = new RequestTelemetry();
        context.Features.Set(scope);
        using (logger.BeginScope(scope))
        {
            await next(context);
        }
    }

    private IEnumerable<KeyValuePair<string, object?>> Pairs()
    {
        yield return new("OpenStackRequestId", RequestId);
        if (Project is not null)
        {
            yield return new("Project", Project);
        }
        if (User is not null)
        {
            yield return new("User", User);
        }
    }

    /// <inheritdoc />
    public int Count => Pairs().Count();

    /// <inheritdoc />
    public KeyValuePair<string, object?> this[int index] => Pairs().ElementAt(index);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => Pairs().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>As the simple console formatter prints a scope.</summary>
    public override string ToString() => string.Join(' ', Pairs().Select(p => $"{p.Key}:{p.Value}"));
}
