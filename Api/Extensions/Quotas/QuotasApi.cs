using Glance.Api.Hosting;
using Glance.Api.Identity;
using Glance.Api.Images;
using Glance.Grains.Extensions.Quotas;

namespace Glance.Api.Extensions.Quotas;

/// <summary>
/// The quotas extension's HTTP part: <c>GET /v2/info/usage</c> in Glance's shape,
/// <c>{"usage": {"image_size_total": {"limit": L, "usage": U}, ...}}</c>, for the caller's project
/// (MiB for sizes, -1 for no limit). Without the extension the route answers an empty usage, as a
/// Glance without unified limits does.
/// </summary>
public sealed class QuotasApi : IExtensionApi
{
    public string Alias => "quotas";

    public void MapApi(IEndpointRouteBuilder routes) =>
        routes.MapGet("/v2/info/usage", ShowUsageAsync).RejectsBody().WithTags("Info").WithName("ShowUsage")
            .WithSummary("The caller's project's quota usage (the quotas extension)");

    private static async Task ShowUsageAsync(HttpContext context, IGrainFactory grains)
    {
        var project = context.Caller().ProjectId;
        var reports = project is null ? [] : await grains.GetGrain<IProjectQuotaGrain>(project).UsageAsync();
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("usage");
            foreach (var report in reports)
            {
                w.WriteStartObject(report.Key);
                w.WriteNumber("limit", report.Limit);
                w.WriteNumber("usage", report.Usage);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }
}
