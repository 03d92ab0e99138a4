using System.Globalization;
using System.Text;
using Glance.Api.Hosting;
using Glance.Api.Identity;
using Glance.Api.Images;
using Glance.Grains.Extensions.AuditEvents;

namespace Glance.Api.Extensions.AuditEvents;

/// <summary>
/// The audit-events extension's HTTP part: <c>GET /v2/events</c> (admin only), newest first,
/// <c>{"events": [...], "next"}</c>, with <c>marker</c>/<c>limit</c> and the filters
/// <c>image_id</c>, <c>project</c>, <c>operation</c>, <c>since</c> and <c>until</c> (ISO 8601).
/// </summary>
public sealed class AuditEventsApi : IExtensionApi
{
    public string Alias => "audit-events";

    public void MapApi(IEndpointRouteBuilder routes) =>
        routes.MapGet("/v2/events", ListAsync).RejectsBody().WithTags("Extensions").WithName("ListAuditEvents")
            .WithSummary("Audit events, newest first (admin; the audit-events extension)");

    private static async Task ListAsync(HttpContext context, IGrainFactory grains)
    {
        var q = context.Request.Query;
        var limit = AuditQuery.DefaultLimit;
        if (q["limit"].LastOrDefault() is { } text && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > AuditQuery.MaxLimit))
        {
            throw GlanceException.BadRequest($"limit must be an integer from 1 to {AuditQuery.MaxLimit}");
        }
        var query = new AuditQuery(q["image_id"].LastOrDefault(), q["project"].LastOrDefault(), q["operation"].LastOrDefault(),
            Time(q["since"].LastOrDefault(), "since"), Time(q["until"].LastOrDefault(), "until"), q["marker"].LastOrDefault(), limit);
        var page = await grains.GetGrain<IAuditEventsGrain>(0).ListAsync(context.Caller(), query);
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("events");
            foreach (var e in page)
            {
                w.WriteStartObject();
                w.WriteString("id", e.Id);
                w.WriteString("time", e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
                w.WriteString("project_id", e.Project);
                w.WriteString("user_id", e.User);
                w.WriteStartArray("roles");
                e.Roles.ToList().ForEach(w.WriteStringValue);
                w.WriteEndArray();
                w.WriteString("operation", e.Operation);
                w.WriteString("target", e.Target);
                w.WriteStartArray("fields");
                e.Fields.ToList().ForEach(w.WriteStringValue);
                w.WriteEndArray();
                w.WriteString("outcome", e.Outcome);
                w.WriteNumber("status", e.Status);
                w.WriteString("request_id", e.RequestId);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (page.Length == query.Limit)
            {
                var next = new StringBuilder("/v2/events?");
                foreach (var (key, value) in q.Where(p => p.Key != "marker").Select(p => (p.Key, p.Value.LastOrDefault() ?? "")))
                {
                    next.Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value)).Append('&');
                }
                next.Append("marker=").Append(Uri.EscapeDataString(page[^1].Id));
                w.WriteString("next", next.ToString());
            }
            w.WriteEndObject();
        });
    }

    private static DateTimeOffset? Time(string? text, string name) =>
        text is null ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time
        : throw GlanceException.BadRequest($"{name} must be an ISO 8601 time, not '{text}'");
}
