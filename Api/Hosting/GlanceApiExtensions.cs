using Glance.Api.Errors;
using Glance.Api.Extensions;
using Glance.Api.Health;
using Glance.Api.Identity;
using Glance.Api.ImageData;
using Glance.Api.Images;
using Glance.Api.Members;
using Glance.Api.Metadefs;
using Glance.Api.OpenApi;
using Glance.Api.Console;
using Glance.Api.Properties;
using Glance.Api.Schemas;
using Glance.Api.Tasks;
using Glance.Grains.Tasks;
using Glance.Api.Telemetry;
using Glance.Api.Versions;
using Glance.Grains.Hosting;

namespace Glance.Api.Hosting;

/// <summary>The HTTP front end's services, middleware order and routes, in one place.</summary>
public static class GlanceApiExtensions
{
    /// <summary>Registers the API's options.</summary>
    public static IHostApplicationBuilder AddGlanceApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<IdentityOptions>().BindConfiguration(IdentityOptions.Section);
        // The bytes flow through this node whether or not a silo runs in it.
        builder.Services.AddGlanceImageData(builder.Configuration);
        builder.Services.AddGlanceImportOptions(builder.Configuration);
        builder.Services.AddGlanceTaskOptions(builder.Configuration);
        builder.Services.AddSingleton<ImageUploads>();
        builder.Services.AddSingleton<ReadinessChecks>();
        builder.AddGlanceExtensionsApi();
        builder.AddKeystoneIdentity();
        builder.Services.AddGlanceOpenApi();
        builder.AddGlanceTelemetry();
        // Ctrl+C and SIGTERM end the process within a bound, whatever the clients do (BoundedShutdown).
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = BoundedShutdown.ShutdownTimeout);
        builder.Services.AddHostedService<BoundedShutdown>();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(k =>
        {
            k.AddServerHeader = false;
            // Response bytes Kestrel's HTTP layer may buffer before writes wait (default 64 KiB);
            // the socket transport's own buffer is set below.
            k.Limits.MaxResponseBufferSize = 1 << 20;
        });
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>(socket =>
        {
            // Up to 4 MiB queued for the socket per connection (default 64 KiB): a download's
            // file reads run ahead of its socket sends instead of waiting for each to drain
            // (single-stream download 3.1 -> 4.1 GiB/s on loopback). Bounded per connection.
            socket.MaxWriteBufferSize = 4 << 20;
        });
        return builder;
    }

    /// <summary>The middleware pipeline: errors, request id, version negotiation, identity.</summary>
    public static WebApplication UseGlanceApi(this WebApplication app)
    {
        // The log scope of the request around everything, even the error middleware's lines.
        app.UseGlanceTelemetry();
        // Errors first, so that even a refused request id gets a JSON answer.
        app.UseMiddleware<ErrorMiddleware>();
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseVersionNegotiation();
        // Routing ignores a trailing slash, so "/v2/images/" would list; Glance answers an
        // empty image id with 404 (tempest test_get_image_null_id / test_delete_image_null_id).
        app.Use((context, next) => context.Request.Path.Value == "/v2/images/"
            ? throw GlanceException.NotFound("No image found with ID ''")
            : next(context));
        app.UseRouting();
        app.UseMiddleware<IdentityMiddleware>();
        return app;
    }

    /// <summary>Every route of the API.</summary>
    public static WebApplication MapGlanceApi(this WebApplication app)
    {
        app.MapVersionsApi();
        app.MapHealthApi();
        app.MapImagesApi();
        app.MapMembersApi();
        app.MapImageDataApi();
        app.MapImportApi();
        app.MapTasksApi();
        app.MapSchemasApi();
        app.MapPropertyDefinitionsApi();
        app.MapImagePropertiesApi();
        app.MapMetadefsApi();
        app.MapGlanceOpenApi();
        app.MapConsole();
        app.MapGlanceTelemetry();
        app.MapExtensionsApi();
        // oslo.middleware's healthcheck, which Glance's pipeline answers first: what load balancers probe.
        app.MapMethods("/healthcheck", [HttpMethods.Get, HttpMethods.Head], () => TypedResults.Text("OK"))
            .RejectsBody().WithTags("Info").WithName("Healthcheck").WithSummary("200 OK while the process serves requests");
        if (!ExtensionsApi.IsEnabled<Extensions.Quotas.QuotasApi>(app.Configuration))
        {
            // Per-project usage needs limits (the quotas extension); like a Glance without unified limits, report none.
            app.MapGet("/v2/info/usage", () => TypedResults.Json(new { usage = new { } }))
                .RejectsBody().WithTags("Info").WithName("ShowUsage").WithSummary("Quota usage (empty: no unified limits)");
        }
        return app;
    }
}
