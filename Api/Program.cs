using Glance.Api.Hosting;
using Glance.Grains.Extensions;
using Glance.Grains.Hosting;

// appsettings.json is read from the build output, so the service starts the same way
// wherever it is launched from; relative data paths still resolve against the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

// The one-command service (embedded profile): this process is both the HTTP front end and a
// silo with embedded durable storage. In the azure profile it is a stateless front end, an
// Orleans client of the cluster that Silo/ processes form; it still streams the bytes itself.
if (GlanceOptions.From(builder.Configuration).IsAzure)
{
    builder.UseOrleansClient(client => client.AddGlanceAzureClient(builder.Configuration).AddGlanceExtensions(builder.Configuration));
}
else
{
    builder.UseOrleans(silo => silo.AddGlanceEmbedded(builder.Configuration));
}
builder.AddGlanceApi();

var app = builder.Build();
app.UseGlanceApi();
app.MapGlanceApi();
app.Run();

/// <summary>Visible to the HTTP tests' WebApplicationFactory.</summary>
public partial class Program;
