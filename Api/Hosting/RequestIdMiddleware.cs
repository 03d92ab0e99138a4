namespace Glance.Api.Hosting;

/// <summary>
/// Gives every request an OpenStack request id (<c>req-&lt;uuid&gt;</c>), or honours the one
/// the client sent, echoes it in <c>x-openstack-request-id</c> and passes it to the grains
/// through Orleans' RequestContext (for logs and import tasks).
/// </summary>
public sealed class RequestIdMiddleware(RequestDelegate next)
{
    /// <summary>The header, as Glance spells it.</summary>
    public const string Header = "x-openstack-request-id";

    /// <summary>The RequestContext key grains read the id from.</summary>
    public const string ContextKey = GlanceRequestContext.RequestIdKey;

    // Glance refuses longer ids (max_request_id_length).
    private const int MaxLength = 64;

    public Task InvokeAsync(HttpContext context)
    {
        var sent = context.Request.Headers[Header].ToString();
        // An id Kestrel could not send back (not visible ASCII) is replaced, never echoed.
        var id = sent.Length == 0 || sent.Length > MaxLength || !IsPrintableAscii(sent) ? $"req-{Guid.NewGuid()}"
            : sent.StartsWith("req-", StringComparison.Ordinal) ? sent : $"req-{sent}";
        context.Response.Headers[Header] = id;
        if (sent.Length > MaxLength)
        {
            throw new BadHttpRequestException($"Request id is longer than {MaxLength} characters.", StatusCodes.Status431RequestHeaderFieldsTooLarge);
        }
        Orleans.Runtime.RequestContext.Set(ContextKey, id);
        Telemetry.RequestTelemetry.RequestIdentified(context, id);
        return next(context);
    }

    private static bool IsPrintableAscii(string value)
    {
        foreach (var c in value)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }
        return true;
    }
}
